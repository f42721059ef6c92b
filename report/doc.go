// Package report turns stored counts into what people act on: the daily trend, a run's report
// as Markdown or HTML with SVG charts and its methodology, CERT notification packs (one CSV per
// recipient), and an operator's verdict on their own hosts with the fix for each finding.
//
// It reads plain values — store summaries and observations, the fingerprint rules — and
// writes to the writers and directories it is given. It never opens a store, never touches
// the network and never decides what a host is: the fingerprint stage did that.
package report
