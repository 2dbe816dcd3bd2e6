package main

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// timelineSVG draws a run: a time axis, each attempt as a bar for its
// duration with a mark at its start (green success, red failure, grey
// error), and each wait as a bar to the next attempt, orange when
// Retry-After set it.
func timelineSVG(w io.Writer, r runResult) error {
	const width, left, right, top, rowH = 900, 60, 40, 70, 34
	height := top + rowH*max(1, len(r.attempts)) + 75
	total := r.elapsed
	for _, a := range r.attempts {
		if end := a.Offset + a.Duration + a.Delay; end > total {
			total = end
		}
	}
	if total <= 0 {
		total = time.Millisecond
	}
	pw := float64(width - left - right)
	x := func(d time.Duration) float64 { return left + float64(d)/float64(total)*pw }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s %s against %s</text>`+"\n", left, html.EscapeString(r.spec.method), html.EscapeString(r.spec.path), html.EscapeString(r.spec.scenario.Name))
	fmt.Fprintf(&b, `<text x="%d" y="44" fill="#555">%s</text>`+"\n", left, html.EscapeString(describePolicy(r.spec.policy)))
	axisY := top + rowH*max(1, len(r.attempts)) + 10
	fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%d" y2="%d" stroke="black"/>`+"\n", left, left+pw, axisY, axisY)
	step := time.Duration(niceCeil(float64(total) / 5))
	for d := time.Duration(0); d <= total; d += step {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black"/>`, x(d), x(d), axisY, axisY+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(d), axisY+20, d)
	}
	for i, a := range r.attempts {
		y := top + i*rowH
		colour := "#2ca02c"
		switch {
		case a.Err != nil:
			colour = "#7f7f7f"
		case a.Status >= 400:
			colour = "#d62728"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">#%d</text>`+"\n", left-8, y+16, a.Number)
		bw := max(2, x(a.Offset+a.Duration)-x(a.Offset))
		fmt.Fprintf(&b, `<rect class="attempt" x="%.1f" y="%d" width="%.1f" height="14" fill="%s" opacity="0.35"/>`+"\n", x(a.Offset), y+4, bw, colour)
		fmt.Fprintf(&b, `<circle class="mark" cx="%.1f" cy="%d" r="5" fill="%s"><title>%s</title></circle>`+"\n", x(a.Offset), y+11, colour, html.EscapeString(a.String()))
		label := r.attemptResult(i)
		if d := a.Duration.Round(time.Millisecond); d >= time.Millisecond {
			label += fmt.Sprintf(" in %v", d)
		}
		lx, anchor := labelPlace(x(a.Offset), x(a.Offset+a.Duration), labelWidth(label), width)
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%d" text-anchor="%s">%s</text>`+"\n", lx, y+15, anchor, html.EscapeString(label))
		if a.Retry && a.Delay > 0 {
			wc, kind := "#1f77b4", "backoff"
			if a.RetryAfterSeen {
				wc, kind = "#ff7f0e", "Retry-After"
			}
			wx := x(a.Offset + a.Duration)
			fmt.Fprintf(&b, `<rect class="wait %s" x="%.1f" y="%d" width="%.1f" height="6" fill="%s"><title>%s wait %v</title></rect>`+"\n",
				strings.ToLower(strings.ReplaceAll(kind, "-", "")), wx, y+24, max(1, x(a.Offset+a.Duration+a.Delay)-wx), wc, kind, a.Delay)
		}
	}
	ly := height - 16
	for i, item := range []struct{ c, t string }{{"#2ca02c", "success"}, {"#d62728", "error status"}, {"#7f7f7f", "no response"}, {"#1f77b4", "backoff wait"}, {"#ff7f0e", "Retry-After wait"}} {
		lx := left + i*150
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="8" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly-8, item.c, lx+20, ly, item.t)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// labelCharWidth is a generous estimate of the width of one character of
// the 12px sans-serif labels, for placing them inside the canvas.
const labelCharWidth = 7.0

// labelWidth estimates the drawn width of label.
func labelWidth(label string) float64 {
	return labelCharWidth * float64(utf8.RuneCountInString(label))
}

// labelPlace places a label of width w for a bar from x0 to x1 on a canvas
// width wide: after the bar when it fits there, else before it
// (right-aligned), else inside the canvas from its left margin (over the
// bar, which is translucent). It returns the text's x and text-anchor.
func labelPlace(x0, x1, w float64, width int) (float64, string) {
	const gap = 8
	switch {
	case x1+gap+w <= float64(width):
		return x1 + gap, "start"
	case x0-gap-w >= 0:
		return x0 - gap, "end"
	default:
		return min(x0+gap, max(0, float64(width)-w)), "start"
	}
}
