package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var plotColors = map[string]color.Color{
	tfData: color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff},
	floor:  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	cmdop:  color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// writePlot draws wall time (no-op plan, apply, destroy) and provider peak
// RSS (no-op plan) against N, one line per configuration and latency (the
// first latency solid, the others dashed), to an SVG file at path (PNG if
// path ends in .png).
func writePlot(cfg *config, res *results, path string) error {
	if len(cfg.ns) < 2 {
		return fmt.Errorf("a plot against N needs at least two values of N; run with BENCH_N=\"100 500 1000\" (or -svg - to skip it)")
	}
	type panel struct {
		title, ylabel string
		op            string
		configs       []string
		y             func(Row, string) float64
	}
	wall := func(r Row, c string) float64 { return r.wall(c).Seconds() }
	panels := []panel{
		{"No-op plan: wall time", "seconds", "plan", configurations, wall},
		{"Apply: wall time", "seconds", "apply", configurations, wall},
		{"Destroy: wall time", "seconds", "destroy", configurations, wall},
		{"No-op plan: provider peak RSS (terraform_data has no provider)", "MiB", "plan", []string{floor, cmdop},
			func(r Row, c string) float64 { return float64(r.provRSS(c)) / 1024 }},
	}
	const rows, cols = 2, 2
	plots := make([][]*plot.Plot, rows)
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.X.Label.Text = "N (resources)"
		p.Y.Label.Text = pn.ylabel
		p.Y.Min = 0
		p.Legend.Top, p.Legend.Left = true, true
		for li, lat := range cfg.latencies {
			for _, c := range pn.configs {
				var xys plotter.XYs
				for _, n := range cfg.ns {
					if r, ok := res.find(pn.op, n, lat); ok {
						xys = append(xys, plotter.XY{X: float64(n), Y: pn.y(r, c)})
					}
				}
				if len(xys) == 0 {
					continue
				}
				l, pts, err := plotter.NewLinePoints(xys)
				if err != nil {
					return err
				}
				l.Color, pts.Color = plotColors[c], plotColors[c]
				l.Width = vg.Points(1.5)
				if li > 0 {
					l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
				}
				p.Add(l, pts)
				p.Legend.Add(fmt.Sprintf("%s @%s", c, fmtLat(lat)), l, pts)
			}
		}
		plots[i/cols] = append(plots[i/cols], p)
	}
	w, h := vg.Points(960), vg.Points(720)
	var img vg.CanvasWriterTo = vgsvg.New(w, h)
	if strings.HasSuffix(path, ".png") {
		img = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	}
	dc := draw.New(img)
	t := draw.Tiles{Rows: rows, Cols: cols, PadTop: vg.Points(10), PadBottom: vg.Points(10), PadLeft: vg.Points(10), PadRight: vg.Points(10),
		PadX: vg.Points(30), PadY: vg.Points(30)}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		for j, p := range plots[i] {
			p.Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replot draws cfg.svgOut from the results of an earlier run (-json), with
// the N and latencies that run measured.
func replot(cfg *config) error {
	b, err := os.ReadFile(cfg.replot)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", cfg.replot, err)
	}
	cfg.ns, cfg.latencies = nil, nil
	for _, r := range res.Rows {
		if !slices.Contains(cfg.ns, r.N) {
			cfg.ns = append(cfg.ns, r.N)
		}
		if !slices.Contains(cfg.latencies, r.Latency) {
			cfg.latencies = append(cfg.latencies, r.Latency)
		}
	}
	slices.Sort(cfg.ns)
	slices.Sort(cfg.latencies)
	return writePlot(cfg, &res, cfg.svgOut)
}
