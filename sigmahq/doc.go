// Package sigmahq lets the community's SigmaHQ rules for Windows process
// creation and PowerShell script blocks evaluate the scripts MSPs push
// through their remote-management tools, so that a SigmaHQ rule update
// improves tripline without anyone rewriting the rule.
//
// Two parts, both documented in docs/sigmahq.md:
//
//   - Views (engine.View) present a pushed script (a contract script.run or
//     software.push event with a script.command) as the events those rules
//     were written for: a process_creation whose CommandLine is the command
//     and whose Image is the interpreter and the programs the command
//     starts; and, for PowerShell, a ps_script whose ScriptBlockText is the
//     script. The rules are loaded unchanged, with their own logsource and
//     field names.
//   - A list of enabled rules (paths in the SigmaHQ repository, with their
//     ids) ships in the rule pack; the rules themselves are read from the
//     user's SigmaHQ checkout at load time, because their licence (DRL)
//     keeps them out of this project. A listed rule that is missing, has
//     another id, uses a field the views cannot answer or does not compile
//     is reported with its file:line and skipped; the rest load.
package sigmahq
