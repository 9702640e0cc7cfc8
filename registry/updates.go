package registry

import (
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"
)

// updateAnyTool is the update_sources key whose hosts serve every tool.
const updateAnyTool = "any"

// sharedHosting are domains anyone can host under: listing one would
// approve every stranger's bucket or repository as an update source. An
// MSP lists its own subdomain (northwind.blob.core.windows.net) instead.
var sharedHosting = map[string]bool{
	"amazonaws.com": true, "s3.amazonaws.com": true, "cloudfront.net": true,
	"windows.net": true, "core.windows.net": true, "blob.core.windows.net": true,
	"azureedge.net": true, "azurewebsites.net": true, "trafficmanager.net": true,
	"googleapis.com": true, "storage.googleapis.com": true, "appspot.com": true,
	"github.com": true, "githubusercontent.com": true, "raw.githubusercontent.com": true,
	"gitlab.com": true, "bitbucket.org": true, "dropbox.com": true, "dropboxusercontent.com": true,
	"ngrok.io": true, "ngrok-free.app": true, "herokuapp.com": true, "workers.dev": true,
	"pages.dev": true, "netlify.app": true, "vercel.app": true, "firebaseapp.com": true,
	"web.app": true, "onedrive.live.com": true, "sharepoint.com": true, "discordapp.com": true,
}

// updateSources reads an msp's update_sources: tool slug (or "any") to
// the hosts, matched with their subdomains, its agents may update from
// besides the vendors' own domains.
func (p *parser) updateSources(n *yaml.Node, into map[string][]string) {
	fields := map[string]func(k, v *yaml.Node){}
	n = deref(n)
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			fields[k.Value] = func(k, v *yaml.Node) {
				tool := strings.ToLower(strings.TrimSpace(k.Value))
				if tool != updateAnyTool && !isSlug(tool) {
					p.errorf(k, "update_sources: %q is neither a tool slug (a-z, 0-9, '-', '_', '.') nor %q", k.Value, updateAnyTool)
					return
				}
				for _, h := range p.list(v, "update_sources."+tool) {
					if host, ok := p.updateHost(h); ok {
						into[tool] = append(into[tool], host)
					}
				}
			}
		}
	}
	p.mapping(n, "update_sources", fields)
}

func (p *parser) updateHost(n *yaml.Node) (string, bool) {
	s, ok := p.scalar(n, "update source")
	if !ok {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(s), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return host, true
	}
	if !isHostName(host) || !strings.Contains(host, ".") {
		p.errorf(n, "update source %q is not a host name: give the domain only (updates.northwind-msp.example), no scheme, port or path", s)
		return "", false
	}
	if sharedHosting[host] {
		p.errorf(n, "update source %q is shared hosting, where anyone can publish: list your own subdomain of it", s)
		return "", false
	}
	return host, true
}

func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// updateListed reports whether url is HTTPS from a host the MSP lists for
// tool (or for any tool). Plain HTTP never is: an update fetched without
// TLS can be swapped on the way, whoever serves it.
func (m *msp) updateListed(tool, url string) bool {
	host := httpsHost(url)
	if host == "" {
		return false
	}
	for _, key := range [2]string{tool, updateAnyTool} {
		for _, d := range m.updateSources[key] {
			if underDomain(host, d) {
				return true
			}
		}
	}
	return false
}

// httpsHost is the host of an https:// URL ("" for any other), read
// without allocating: the path, query and fragment (and a backslash, which
// browsers and downloaders treat as a slash) end it, userinfo before an @
// and a port are dropped, a trailing dot too.
func httpsHost(u string) string {
	const scheme = "https://"
	if len(u) < len(scheme) || !strings.EqualFold(u[:len(scheme)], scheme) {
		return ""
	}
	rest := u[len(scheme):]
	if i := strings.IndexAny(rest, "/?#\\"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		i := strings.IndexByte(rest, ']')
		if i < 0 {
			return ""
		}
		return rest[1:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSuffix(rest, ".")
}

// underDomain: host is domain or one of its subdomains (case-insensitive;
// domain is lower case).
func underDomain(host, domain string) bool {
	switch {
	case len(host) == len(domain):
		return strings.EqualFold(host, domain)
	case len(host) > len(domain):
		return host[len(host)-len(domain)-1] == '.' && strings.EqualFold(host[len(host)-len(domain):], domain)
	}
	return false
}
