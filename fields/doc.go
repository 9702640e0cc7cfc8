// Package fields is how rules see an event: typed values addressed by dotted
// paths ("actor.user", "package.sha256"), plus the event's log source.
//
// It is the small contract between whatever produces events (the MSP wire
// contract, arbitrary JSON) and the rule engine that consumes them, kept in a
// leaf package so neither side has to import the other.
package fields
