// Package rules holds tripline's default rule pack (the Sigma files under
// msp/, embedded in the binary) and the Manager that loads a rule directory,
// hot-reloads it on change or SIGHUP, and serves the current rule set to the
// detector.
//
// A reload is all or nothing: if any file fails to parse or compile, the
// previous rule set keeps running and the error is logged with file:line.
//
// Rule tests live beside each rule as NAME.tests.yml (see Test); the loader
// skips those files.
package rules
