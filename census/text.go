package census

import "github.com/clawcensus/clawcensus/internal/textsafe"

// CheckText refuses a value that would reach a terminal, a log line, a file name or a stored
// field other than as written (see textsafe.Check). Flags, environment and API fields are
// checked with it where they enter (a trailing CR from a CRLF config file is the usual case): a
// value is refused, never silently cleaned.
var CheckText = textsafe.Check
