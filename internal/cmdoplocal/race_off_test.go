//go:build !race

package cmdoplocal_test

const raceEnabled = false
