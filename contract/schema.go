package contract

import _ "embed" // for Schema

// Schema is the JSON Schema (draft 2020-12) of wire contract v1, the
// machine-readable twin of docs/event-contract.md. Producers can validate
// their messages against it before sending; its tests keep it in step with
// the decoder. It describes the canonical form: the decoder also accepts
// enum values in any letter case and surrounding whitespace, and checks what
// a schema cannot (the time window, IP address syntax).
//
//go:embed event.schema.json
var Schema []byte
