package adapt

import (
	"encoding/json"
	"strconv"

	"github.com/tripline/tripline/contract"
)

// ocsfProducts are the display names the ocsf encoder writes as
// metadata.product.name for a tool (the adapter's slug of each is the
// tool again), with the vendor. A tool not listed is written by its slug.
var ocsfProducts = map[string][2]string{
	"kaseya-vsa":    {"Kaseya VSA", "Kaseya"},
	"n-able":        {"N-able", "N-able"},
	"atera":         {"Atera", "Atera Networks"},
	"anydesk":       {"AnyDesk", "AnyDesk Software"},
	"splashtop":     {"Splashtop", "Splashtop"},
	"ninjaone":      {"NinjaOne", "NinjaOne"},
	"screenconnect": {"ScreenConnect", "ConnectWise"},
	"teamviewer":    {"TeamViewer", "TeamViewer"},
	"datto-rmm":     {"Datto RMM", "Datto"},
}

// ocsfAccountActivity is the class_uid/activity_id of an account.changed
// event for each attributes.change the simulator and the other adapters
// write, with OCSF's caption (activity_name), which the adapter gives back
// as attributes.change. Changes OCSF 1.3 has no Account Change or User
// Access Management activity for (a group membership, a display name) are
// not expressible.
var ocsfAccountActivity = map[string][3]string{
	"password_change":  {"3001", "3", "Password Change"},
	"password_changed": {"3001", "3", "Password Change"},
	"password_reset":   {"3001", "4", "Password Reset"},
	"enabled":          {"3001", "2", "Enable"},
	"disabled":         {"3001", "5", "Disable"},
	"deleted":          {"3001", "6", "Delete"},
	"locked":           {"3001", "9", "Lock"},
	"mfa_device_added": {"3001", "10", "MFA Factor Enable"},
	"mfa_enrolled":     {"3001", "10", "MFA Factor Enable"},
	"mfa_reset":        {"3001", "11", "MFA Factor Disable"},
	"mfa_deleted":      {"3001", "11", "MFA Factor Disable"},
	"mfa_removed":      {"3001", "11", "MFA Factor Disable"},
	"mfa_disabled":     {"3001", "11", "MFA Factor Disable"},
	"role_changed":     {"3005", "1", "Assign Privileges"},
}

// ocsfCategory is the category_uid of each class the encoder writes.
var ocsfCategory = map[string]int{"3001": 3, "3002": 3, "3005": 3, "1007": 1, "6002": 6}

// encodeOCSF writes an OCSF 1.3 event, as a security tool or a SIEM
// forwarder that maps an RMM's log to OCSF would: console logins as
// Authentication (3002), account changes as Account Change (3001) or User
// Access Management (3005, role changes), a script run on one device as
// Process Activity (1007 Launch: the command line and the script's
// SHA-256, which Datto's and NinjaOne's logs drop), a software install as
// Application Lifecycle (6002 Install). The tool is metadata.product.name;
// client, the forwarder's id of the tenant, is metadata.tenant_uid.
//
// Not expressible: sessions, pushes, agent updates and credential use (no
// class the adapter reads); a run on several devices (one Process Activity
// per device) or on no named device; an account change OCSF has no
// activity for (group membership, display name); an unsigned install
// (package.signed false, which the unsigned-package rule reads); a login of a service
// account that only its role marks as one (OCSF's user has no role, and
// the MFA rules spare such logins by role; an API key's login keeps its
// method as auth_protocol); an event of a tool with no slug name. Lost:
// the actor's role; the script's interpreter (Script Activity, 1009, which
// has it, is OCSF 1.4); package hashes, signer and source URL (1.3's
// product object has none); the change ticket; session duration;
// free-form attributes (account changes keep account, privileges, and say
// change in OCSF's captions).
func encodeOCSF(ev *contract.Event, client string, seq uint64) (Record, error) {
	const format = "ocsf"
	product, ok := ocsfProducts[ev.Tool]
	if !ok {
		if slug(ev.Tool) != ev.Tool {
			return Record{}, inexpressible(format, "tool "+ev.Tool+" is not a product slug")
		}
		product = [2]string{ev.Tool, ""}
	}
	if ev.Tenant != "" && client == "" {
		return Record{}, inexpressible(format, "no tenant uid for tenant "+ev.Tenant)
	}
	out := said(ev, "")
	at := out.Attributes
	r := obj{}
	class, act, actName := "", "1", ""
	switch ev.EventType {
	case contract.TypeAuthLogin, contract.TypeAuthFailure:
		if ev.Actor.User == "" {
			return Record{}, inexpressible(format, "a login without its user")
		}
		if serviceAccount(ev) && !apiKeyAuth(ev) {
			return Record{}, inexpressible(format, "a service account's login marked by its role, which OCSF's user does not carry")
		}
		class = "3002"
	case contract.TypeAccountCreated:
		class = "3001"
	case contract.TypeAccountChanged:
		a, ok := ocsfAccountActivity[ev.Attributes["change"]]
		if !ok {
			return Record{}, inexpressible(format, "no account activity for change "+ev.Attributes["change"])
		}
		class, act, actName = a[0], a[1], a[2]
	case contract.TypeScriptRun:
		if ev.Target.Host == "" || ev.Target.HostCount != nil && *ev.Target.HostCount != 1 {
			return Record{}, inexpressible(format, "a run on several devices or none named (one process launch per device)")
		}
		class = "1007"
	case contract.TypeSoftwareInstall:
		if s := ev.Package.Signed; s != nil && !*s {
			// The unsigned-package rule reads package.signed, which 1.3's
			// application (a product: name, version, vendor) cannot say.
			return Record{}, inexpressible(format, "an unsigned install (Application Lifecycle names the product, not its signature)")
		}
		class = "6002"
	default:
		return Record{}, inexpressible(format, "no class the adapter reads for "+ev.EventType)
	}
	cls, _ := strconv.Atoi(class)
	ac, _ := strconv.Atoi(act)
	r.put("category_uid", ocsfCategory[class])
	r.put("class_uid", cls)
	r.put("activity_id", ac)
	r.put("activity_name", actName)
	r.put("type_uid", cls*100+ac)
	r.put("severity_id", 1)
	at["category_uid"], at["type_uid"], at["severity_id"] = strconv.Itoa(ocsfCategory[class]), strconv.Itoa(cls*100+ac), "1"
	ms := ev.Time.UnixMilli()
	r.put("time", ms)
	meta := obj{{"version", OCSFVersion + ".0"}, {"uid", scGUID(seq)}}
	prod := obj{{"name", product[0]}}
	prod.put("vendor_name", product[1])
	meta = append(meta, member{"product", prod})
	if ev.Tenant != "" {
		meta.put("tenant_uid", client)
		out.Tenant = ev.Tenant
	}
	r.put("metadata", meta)
	switch {
	case ev.Outcome == "success" || ev.EventType == contract.TypeAuthLogin:
		r.put("status_id", 1)
		out.Outcome = "success"
	case ev.Outcome == "failure" || ev.EventType == contract.TypeAuthFailure:
		r.put("status_id", 2)
		out.Outcome = "failure"
	}
	r.put("status_detail", ev.Reason)
	out.Reason = ev.Reason

	actor := obj{}
	if ev.Actor.User != "" && class != "3002" {
		actor.put("user", obj{{"name", ev.Actor.User}})
	}
	if ev.Session.ID != "" {
		actor.put("session", obj{{"uid", ev.Session.ID}})
		out.Session.ID = ev.Session.ID
	}
	if len(actor) > 0 {
		r.put("actor", actor)
	}
	out.Actor.User = ev.Actor.User
	src := obj{}
	src.put("ip", ev.Actor.IP)
	if ev.Actor.Country != "" {
		src.put("location", obj{{"country", ev.Actor.Country}})
	}
	if ev.Actor.ASN != nil {
		src.put("autonomous_system", obj{{"number", *ev.Actor.ASN}})
		out.Actor.ASN = ptr(*ev.Actor.ASN)
	}
	if len(src) > 0 {
		r.put("src_endpoint", src)
	}
	out.Actor.IP, out.Actor.Country = ev.Actor.IP, ev.Actor.Country
	if t := ev.Target; t.Host != "" || t.OS != "" || len(t.Tags) > 0 {
		dev := obj{}
		dev.put("hostname", t.Host)
		if t.OS != "" {
			dev.put("os", obj{{"name", t.OS}})
		}
		if len(t.Tags) > 0 {
			groups := make([]obj, len(t.Tags))
			for i, tag := range t.Tags {
				groups[i] = obj{{"name", tag}}
			}
			dev.put("groups", groups)
			out.Target.Tags = append([]string(nil), t.Tags...)
		}
		r.put("device", dev)
		out.Target.Host, out.Target.OS = t.Host, t.OS
	}

	switch class {
	case "3002":
		r.put("user", obj{{"name", ev.Actor.User}})
		if m := ev.Actor.MFA; m != nil {
			r.put("is_mfa", *m)
			out.Actor.MFA = ptr(*m)
		}
		r.put("auth_protocol", ev.Session.AuthMethod)
		out.Session.AuthMethod = ev.Session.AuthMethod
	case "3001", "3005":
		if acc := ev.Attributes["account"]; acc != "" {
			r.put("user", obj{{"name", acc}})
			at["account"] = acc
		}
		set(at, "change", actName)
		if class == "3005" {
			if p := ev.Attributes["privileges"]; p != "" {
				r.put("privileges", []string{p})
				at["privileges"] = p
			}
		}
	case "1007":
		p := obj{}
		p.put("name", ev.Script.Name)
		p.put("cmd_line", ev.Script.Command)
		if h := ev.Script.SHA256; h != "" {
			name := ev.Script.Name
			if name == "" {
				name = "script"
			}
			// OCSF's file requires a name: the script's, which the
			// adapter keeps as an attribute.
			p.put("file", obj{{"name", name}, {"hashes", []obj{{{"algorithm_id", 3}, {"value", h}}}}})
			at["process.file.name"] = name
		}
		r.put("process", p)
		out.Script.Name, out.Script.Command, out.Script.SHA256 = ev.Script.Name, ev.Script.Command, ev.Script.SHA256
		out.Target.HostCount = ptr(int64(1))
	case "6002":
		app := obj{{"name", ev.Package.Name}}
		app.put("version", ev.Package.Version)
		r.put("app", app)
		out.Package.Name, out.Package.Version = ev.Package.Name, ev.Package.Version
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: b, Event: out}, nil
}
