package main

func writePlot(cfg *config, res *results, path string) error { return nil }
