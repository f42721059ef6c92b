// Package migrations holds the numbered schema files of each store backend, embedded.
// Files are never edited once released: a change is a new file. Only package store imports it.
package migrations

import "embed"

// FS holds sqlite/NNNN_name.sql and postgres/NNNN_name.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
