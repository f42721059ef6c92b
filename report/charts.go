package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/go-analyze/charts"

	"github.com/clawcensus/clawcensus/fingerprint"
)

// Chart is one figure of a report, rendered as SVG by go-analyze/charts.
type Chart struct {
	Name  string // file name stem: trend, vulnerable-share, versions, countries, networks
	Title string
	// Subtitle says which runs the figure shows: the series of a trend, "" for one run's.
	Subtitle string
	SVG      []byte
}

const chartWidth, chartHeight = 800, 400

// Charts renders the figures a person would put on a slide: exposed gateways per day of the
// run's series split by auth, the share on a release with known advisories, the run's
// versions, and its top countries and networks when enrichment data was given. A figure with
// no data is left out.
func (d *Document) Charts() ([]Chart, error) {
	var out []Chart
	kb := d.knowledgeShort()
	subtitle := kb
	add := func(name, title string, render func(p *charts.Painter) error) error {
		p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: chartWidth, Height: chartHeight})
		if err := render(p); err != nil {
			return fmt.Errorf("chart %s: %w", name, err)
		}
		b, err := p.Bytes()
		if err != nil {
			return fmt.Errorf("chart %s: %w", name, err)
		}
		out = append(out, Chart{Name: name, Title: title, Subtitle: subtitle, SVG: b})
		return nil
	}
	if len(d.Trend) > 0 {
		days := make([]string, len(d.Trend))
		auth := [][]float64{make([]float64, len(d.Trend)), make([]float64, len(d.Trend)), make([]float64, len(d.Trend))}
		share := [][]float64{make([]float64, len(d.Trend))}
		for i, r := range d.Trend {
			days[i] = r.Day
			auth[0][i], auth[1][i], auth[2][i] = float64(r.NoAuth), float64(r.AuthRequired), float64(r.AuthUnknown)
			if r.Reachable > 0 {
				share[0][i] = 100 * float64(r.Vulnerable) / float64(r.Reachable)
			}
		}
		title := "Exposed gateways per day, by authentication"
		subtitle = "series " + truncate(d.Series(), 44) + "; " + kb // beside the legend
		if err := add("trend", title, func(p *charts.Painter) error {
			opt := charts.NewBarChartOptionWithData(auth)
			opt.Title.Text, opt.Title.Subtext = title, subtitle
			opt.StackSeries = charts.Ptr(true)
			opt.CategoryAxis.Labels = days
			opt.CategoryAxis.Title = "day (UTC), the series' last complete run"
			opt.ValueAxis[0].Title = "gateways (per ip:port)"
			countAxis(&opt.ValueAxis[0], &opt.ValueFormatter, maxStack(auth))
			opt.Legend.SeriesNames = []string{"no auth", "auth required", "auth unknown"}
			opt.Legend.Offset = charts.OffsetRight
			return p.BarChart(opt)
		}); err != nil {
			return nil, err
		}
		title = "Share of exposed gateways on a release with known advisories"
		if err := add("vulnerable-share", title, func(p *charts.Painter) error {
			opt := charts.NewLineChartOptionWithData(share)
			opt.Title.Text, opt.Title.Subtext = title, subtitle
			opt.XAxis.Labels = days
			opt.XAxis.Title = "day (UTC)"
			opt.YAxis[0].Title = "% of gateways"
			opt.YAxis[0].Min, opt.YAxis[0].Max = charts.Ptr(0.0), charts.Ptr(100.0)
			opt.YAxis[0].Unit = 20
			opt.ValueFormatter = func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) }
			opt.Legend.SeriesNames = []string{"on a vulnerable release"}
			opt.Legend.Offset = charts.OffsetRight
			return p.LineChart(opt)
		}); err != nil {
			return nil, err
		}
		subtitle = kb
	}
	versions := slices.SortedFunc(maps.Keys(d.Run.ByVersion), func(a, b string) int { return fingerprint.CompareVersions(b, a) })
	if len(versions) > 12 {
		versions = versions[:12]
	}
	if err := d.barChart(add, "versions", fmt.Sprintf("Gateways by version, run %d (newest 12)", d.Run.ID), "version", versions, d.Run.ByVersion); err != nil {
		return nil, err
	}
	if d.Run.Enrichment != "" {
		if err := d.barChart(add, "countries", fmt.Sprintf("Top countries, run %d", d.Run.ID), "country", top(d.Run.ByCountry, 10), d.Run.ByCountry); err != nil {
			return nil, err
		}
		if err := d.barChart(add, "networks", fmt.Sprintf("Top networks, run %d", d.Run.ID), "autonomous system", top(d.Run.ByASN, 10), d.Run.ByASN); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *Document) barChart(add func(string, string, func(*charts.Painter) error) error, name, title, axis string, keys []string, m map[string]int64) error {
	if len(keys) == 0 {
		return nil
	}
	// Horizontal bars stack upwards from the first label: the first key goes on top.
	values := [][]float64{make([]float64, len(keys))}
	labels := make([]string, len(keys))
	most := 0.0
	for i, k := range keys {
		j := len(keys) - 1 - i
		values[0][j] = float64(m[k])
		labels[j] = cmp.Or(TextCell(k), "unknown")
		most = max(most, values[0][j])
	}
	return add(name, title, func(p *charts.Painter) error {
		opt := charts.NewBarChartOptionWithData(values)
		opt.Horizontal = true
		opt.Title.Text, opt.Title.Subtext = title, d.knowledgeShort()
		opt.CategoryAxis.Labels = labels
		opt.CategoryAxis.Title = axis
		opt.ValueAxis[0].Title = "gateways"
		countAxis(&opt.ValueAxis[0], &opt.ValueFormatter, most)
		opt.SeriesLabelPosition = "right"
		return p.BarChart(opt)
	})
}

// top lists the n keys with the largest counts (ties by key), unknown ("") included.
func top(m map[string]int64, n int) []string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return keys[:min(n, len(keys))]
}

// countAxis makes a count axis step by whole numbers, about five steps to the largest value.
func countAxis(a *charts.ValueAxisOption, format *charts.ValueFormatter, most float64) {
	step := math.Max(1, math.Ceil(most/5))
	a.Unit = step
	a.Min = charts.Ptr(0.0)
	a.Max = charts.Ptr(step * math.Max(1, math.Ceil(most/step)))
	*format = func(f float64) string { return strconv.FormatFloat(math.Round(f), 'f', 0, 64) }
}

// maxStack is the tallest stacked bar.
func maxStack(series [][]float64) float64 {
	most := 0.0
	for i := range series[0] {
		sum := 0.0
		for _, s := range series {
			sum += s[i]
		}
		most = max(most, sum)
	}
	return most
}

// knowledgeShort names the run's knowledge base in a chart's few words: "kb" and its sha256's
// first 12 hex digits, or that the run did not record one.
func (d *Document) knowledgeShort() string {
	var id fingerprint.Identity
	if json.Unmarshal([]byte(d.Run.Knowledge), &id) != nil || id.SHA256 == "" {
		return "kb not recorded"
	}
	return "kb " + id.SHA256[:min(12, len(id.SHA256))]
}
