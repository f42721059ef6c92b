package web

// ServeHelp is the help text of clawcensus serve: kept here, beside what it describes,
// so the CLI stays wiring.
const ServeHelp = "Listens on loopback unless told otherwise; any other address needs --token (then open\n" +
	"http://HOST:PORT/?token=… once, or send Authorization: Bearer …). Pages carry no script and load\n" +
	"nothing from elsewhere. The store is opened read-only."
