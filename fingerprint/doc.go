// Package fingerprint tells, from one host:port, whether an OpenClaw (or Clawdbot/Moltbot)
// gateway answers, which release it runs, whether it asks for authentication and whether
// it is an official build.
//
// The knowledge lives in data, embedded at build time and checked at start-up: probe and
// marker rules (rules/*.yaml), the release table generated from the npm registry
// (rules/releases.json) and advisories in OSV format (advisories/*.json). Probes are passive
// GET requests unless the operator opts in to an active one. Update refreshes that knowledge
// from an npm-compatible registry (and an OSV export) into a KnowledgeFile; LoadKnowledge uses
// the newest one, or a pinned file.
//
// It does not find open ports or store results: it takes a netip.AddrPort and returns a Result.
package fingerprint
