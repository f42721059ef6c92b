// Package clawcensus is the root of the clawcensus module. The pipeline lives in its
// folders: scanner (targets → open ports) → fingerprint (open port → what it is) → enrich
// (address → AS and country, from local files) → store (observations → counts), wired
// together by cmd/clawcensus.
package clawcensus
