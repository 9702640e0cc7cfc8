package sigmahq

import (
	"strings"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
)

// The logsources of the rules the views serve.
var (
	ProcessCreation = fields.Logsource{Product: "windows", Category: "process_creation"}
	PSScript        = fields.Logsource{Product: "windows", Category: "ps_script"}
)

// Views returns the views that present pushed scripts to SigmaHQ rules:
// as a process creation, and as a PowerShell script block.
func Views() []engine.View { return []engine.View{processView, scriptBlockView} }

// maxImages bounds the programs read from one command, so a hostile
// command cannot make the view's work grow without bound.
const maxImages = 32

// Fields each view answers (docs/sigmahq.md has the mapping and its
// reasons). absentFields are Windows fields a pushed script has no value
// for but that SigmaHQ only uses as alternatives to mapped ones (the PE
// version-resource strings of the image): a rule naming them still loads
// and sees them absent, as on a Sysmon without them. Any other field makes
// a rule unmappable.
var (
	processFields = map[string]bool{"CommandLine": true, "Image": true, "OriginalFileName": true, "ParentImage": true, "Computer": true}
	scriptFields  = map[string]bool{"ScriptBlockText": true, "Computer": true}
	absentFields  = map[string]bool{"Product": true, "Description": true, "Company": true}
)

// pushedScript returns the contract event behind ev when it is a pushed
// script a Windows view applies to: a software-update event with a
// command, not run by a Unix shell or on a non-Windows host.
func pushedScript(ev fields.Source) *contract.Event {
	ce, ok := ev.(*contract.Event)
	if !ok || ce.Script.Command == "" || ce.Family() != contract.FamilySoftwareUpdate {
		return nil
	}
	if unixInterpreters[ce.Script.Interpreter] || nonWindowsOS(ce.Target.OS) {
		return nil
	}
	return ce
}

func processView(ev fields.Source) fields.Source {
	ce := pushedScript(ev)
	if ce == nil {
		return nil
	}
	p := &process{ev: ce}
	p.images, p.names = Images(ce.Script.Interpreter, ce.Script.Command)
	return p
}

func scriptBlockView(ev fields.Source) fields.Source {
	ce := pushedScript(ev)
	if ce == nil || !powershell[ce.Script.Interpreter] {
		return nil
	}
	return (*scriptBlock)(ce)
}

// process is a pushed script as a Windows process creation.
type process struct {
	ev     *contract.Event
	images []string // full paths
	names  []string // their file names, the OriginalFileName stand-in
}

func (p *process) Lookup(path string) fields.Value {
	switch path {
	case "CommandLine":
		return fields.Str(p.ev.Script.Command)
	case "Image":
		return strs(p.images)
	case "OriginalFileName":
		return strs(p.names)
	case "ParentImage":
		return optStr(agentImage[p.ev.Tool])
	case "Computer":
		return optStr(p.ev.Target.Host)
	}
	return fields.Value{}
}

// agentImage is the process of each tool's endpoint agent that starts the
// scripts the tool pushes: the ParentImage of a pushed script. A tool not
// listed leaves ParentImage absent. Paths are the vendors' default install
// locations (some carry an instance id in the folder name; rules match
// the file name).
var agentImage = map[string]string{
	"screenconnect":        `C:\Program Files (x86)\ScreenConnect Client (0000000000000000)\ScreenConnect.ClientService.exe`,
	"connectwise-control":  `C:\Program Files (x86)\ScreenConnect Client (0000000000000000)\ScreenConnect.ClientService.exe`,
	"connectwise-automate": `C:\Windows\LTSvc\LTSVC.exe`,
	"kaseya-vsa":           `C:\Program Files (x86)\Kaseya\0000000000000000\AgentMon.exe`,
	"ninjaone":             `C:\Program Files (x86)\NinjaRMMAgent\NinjaRMMAgent.exe`,
	"datto-rmm":            `C:\Program Files (x86)\CentraStage\AEMAgent\AEMAgent.exe`,
	"n-able":               `C:\Program Files (x86)\N-able Technologies\Windows Agent\bin\agent.exe`,
	"n-central":            `C:\Program Files (x86)\N-able Technologies\Windows Agent\bin\agent.exe`,
	"teamviewer":           `C:\Program Files\TeamViewer\TeamViewer_Service.exe`,
	"anydesk":              `C:\Program Files (x86)\AnyDesk\AnyDesk.exe`,
	"splashtop":            `C:\Program Files (x86)\Splashtop\Splashtop Remote\Server\SRService.exe`,
	"atera":                `C:\Program Files\ATERA Networks\AteraAgent\AteraAgent.exe`,
	"syncro":               `C:\Program Files\RepairTech\Syncro\Syncro.Service.exe`,
}

func (p *process) EachString(fn func(string) bool) {
	if !fn(p.ev.Script.Command) {
		return
	}
	for _, s := range p.images {
		if !fn(s) {
			return
		}
	}
}

func (p *process) Logsource() fields.Logsource { return ProcessCreation }

// scriptBlock is a PowerShell script as a script-block logging event (4104).
type scriptBlock contract.Event

func (s *scriptBlock) Lookup(path string) fields.Value {
	switch path {
	case "ScriptBlockText":
		return fields.Str(s.Script.Command)
	case "Computer":
		return optStr(s.Target.Host)
	}
	return fields.Value{}
}

func (s *scriptBlock) EachString(fn func(string) bool) { fn(s.Script.Command) }

func (s *scriptBlock) Logsource() fields.Logsource { return PSScript }

func strs(s []string) fields.Value {
	if len(s) == 0 {
		return fields.Value{}
	}
	return fields.Value{Kind: fields.Strings, Strs: s}
}

func optStr(s string) fields.Value {
	if s == "" {
		return fields.Value{}
	}
	return fields.Str(s)
}

// Interpreters, by their normalised (lower-case) script.interpreter.
var (
	powershell       = map[string]bool{"powershell": true, "powershell.exe": true, "windows powershell": true, "ps1": true, "pwsh": true, "pwsh.exe": true, "powershell core": true}
	unixInterpreters = map[string]bool{"bash": true, "sh": true, "zsh": true, "dash": true, "ksh": true, "fish": true, "/bin/bash": true, "/bin/sh": true, "osascript": true, "applescript": true}
	// interpreterImage is the image an interpreter name runs as.
	interpreterImage = map[string]string{
		"powershell": psImage, "powershell.exe": psImage, "windows powershell": psImage, "ps1": psImage,
		"pwsh": pwshImage, "pwsh.exe": pwshImage, "powershell core": pwshImage,
		"cmd": cmdImage, "cmd.exe": cmdImage, "batch": cmdImage, "bat": cmdImage,
		"vbscript": cscriptImage, "vbs": cscriptImage, "cscript": cscriptImage, "jscript": cscriptImage,
		"wscript": system32 + `wscript.exe`,
	}
)

const (
	system32     = `C:\Windows\System32\`
	psImage      = system32 + `WindowsPowerShell\v1.0\powershell.exe`
	pwshImage    = `C:\Program Files\PowerShell\7\pwsh.exe`
	cmdImage     = system32 + `cmd.exe`
	cscriptImage = system32 + `cscript.exe`
	framework    = `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\`
)

// knownPrograms are the Windows programs a command may start by bare name
// (without .exe), with where Windows finds them. A word is read as one of
// them only when it stands alone ("net user", not "Net.WebClient").
var knownPrograms = withSystem32(map[string]string{
	"powershell": psImage, "pwsh": pwshImage, "cmd": cmdImage,
	"wmic":    system32 + `wbem\WMIC.exe`,
	"msbuild": framework + "MSBuild.exe", "installutil": framework + "InstallUtil.exe", "regasm": framework + "RegAsm.exe", "regsvcs": framework + "RegSvcs.exe",
})

// withSystem32 adds system32Programs to m; it runs once, at
// initialisation: the map is read-only afterwards.
func withSystem32(m map[string]string) map[string]string {
	for _, p := range system32Programs {
		m[p] = system32 + p + ".exe"
	}
	return m
}

// system32Programs start from System32 when named bare.
var system32Programs = []string{
	"certutil", "bitsadmin", "mshta", "rundll32", "regsvr32", "reg", "net", "net1", "schtasks", "sc",
	"vssadmin", "wbadmin", "bcdedit", "whoami", "nltest", "msiexec", "curl", "wscript", "cscript",
	"ntdsutil", "netsh", "taskkill", "tasklist", "attrib", "icacls", "takeown", "wevtutil", "cmdkey",
	"findstr", "forfiles", "expand", "esentutl", "certreq", "ftp", "tar", "ping", "nslookup",
	"ipconfig", "systeminfo", "quser", "query", "makecab", "extrac32", "hh", "dsquery", "diskshadow",
	"fsutil", "cipher", "wusa", "dism", "sfc", "shutdown", "auditpol", "klist", "setspn", "gpresult",
	"mstsc", "route", "arp", "netstat", "tscon", "odbcconf", "pcalua", "cmstp", "msdt", "winrm",
	"xcopy", "robocopy", "timeout", "where", "finger", "replace", "wmiprvse",
}

// Images returns the programs a pushed script runs, as Sysmon would name
// them: the interpreter's image first, then every program the command
// starts (a word ending in .exe, not in a URL, or the bare name of a known
// Windows program), each once; and their file names. A program named
// without a directory resolves to where Windows finds it (System32 for
// the system's own) or, unknown, to the working directory (".\x.exe").
func Images(interpreter, command string) (images, names []string) {
	add := func(img string) {
		if len(images) >= maxImages {
			return
		}
		for _, x := range images {
			if strings.EqualFold(x, img) {
				return
			}
		}
		images = append(images, img)
		name := img[strings.LastIndexAny(img, `\/`)+1:]
		if strings.EqualFold(name, "pwsh.exe") {
			name = "pwsh.dll" // its OriginalFileName
		}
		names = append(names, name)
	}
	images, names = make([]string, 0, 4), make([]string, 0, 4)
	if img, ok := interpreterImage[interpreter]; ok {
		add(img)
	}
	var buf [40]byte // a program's name, lower-cased, without allocating
	for tok := range strings.FieldsFuncSeq(command, isSeparator) {
		if len(images) >= maxImages {
			break
		}
		tok = strings.TrimLeft(tok, "@.")
		if tok == "" || strings.Contains(tok, "://") {
			continue // a URL is fetched, not run
		}
		base := tok[strings.LastIndexAny(tok, `\/`)+1:]
		exe := hasSuffixFold(base, ".exe")
		if exe {
			base = base[:len(base)-4]
		}
		var known string
		if len(base) <= len(buf) {
			known = knownPrograms[string(lowerInto(buf[:0], base))]
		}
		switch {
		case !exe && known != "" && len(base) == len(tok):
			add(known) // a bare name: certutil, net
		case !exe:
		case strings.ContainsAny(tok, `\/`):
			add(strings.ReplaceAll(tok, "/", `\`))
		case known != "":
			add(known)
		default:
			add(`.\` + tok)
		}
	}
	return images, names
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// lowerInto appends s lower-cased (ASCII) to dst.
func lowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// isSeparator splits a command into words: whitespace and the shell's
// operators and quotes (cmd and PowerShell).
func isSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '&', '|', ';', '(', ')', '{', '}', '"', '\'', '<', '>', ',', '`', '[', ']', '=':
		return true
	}
	return false
}

// nonWindowsOS reports whether target.os names a system SigmaHQ's Windows
// rules do not describe. Unknown (absent) counts as Windows: the
// interpreter and the command decide.
func nonWindowsOS(os string) bool {
	if os == "" {
		return false
	}
	low := strings.ToLower(os)
	for _, s := range []string{"linux", "ubuntu", "debian", "centos", "red hat", "rhel", "macos", "mac os", "darwin", "os x", "ios", "android", "bsd", "unix"} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}
