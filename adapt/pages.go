package adapt

// The members under which each format's API pages hold their records:
// Convert splits a page by them, and Records counts by them, so the
// receiver counts what ingest will convert.
var (
	ninjaPageKeys         = []string{"activities"}
	screenConnectPageKeys = []string{"Events", "Rows"}
	teamViewerPageKeys    = []string{"AuditEvents", "records"}
	entraPageKeys         = []string{"value"}
	m365PageKeys          = []string{"value", "Records"}
	dattoPageKeys         = []string{"activities"}
	ocsfPageKeys          = []string{"events"}
)

// PageKeys returns the members under which a's API pages hold their
// records ("activities", "value", ...), in the order Convert looks for
// them; nil for an adapter that reads no pages (one not built from this
// package).
func PageKeys(a Adapter) []string {
	switch a := a.(type) {
	case ninjaOne:
		return ninjaPageKeys
	case screenConnect:
		return screenConnectPageKeys
	case teamViewer:
		return teamViewerPageKeys
	case entraSignIn:
		return entraPageKeys
	case m365Audit:
		return m365PageKeys
	case dattoRMM:
		return dattoPageKeys
	case ocsf:
		return ocsfPageKeys
	case *Mapping:
		return a.listKeys
	}
	return nil
}

// Records counts the records Convert of a reads in raw, one input value,
// checking it is JSON Convert can split: the elements of an array; for
// an object, the elements of its first member (in the input's order)
// that is an array under one of a's PageKeys, as Convert takes them, else
// 1: a record with arrays of its own (an Entra sign-in's
// authenticationDetails) is one record.
func Records(a Adapter, raw []byte) (int, error) {
	_, n, err := Readable(a, raw)
	return n, err
}

// Readable is raw as Convert of a reads it, and its records as Records
// counts them: raw itself, or its repair when a is a Repairer and raw is
// not JSON it splits (tripline receive writes what this returns).
func Readable(a Adapter, raw []byte) ([]byte, int, error) {
	n, err := records(a, raw)
	if r, ok := a.(Repairer); ok && err != nil {
		if fixed, ok := r.Repair(raw); ok {
			n, err := records(a, fixed)
			return fixed, n, err
		}
	}
	return raw, n, err
}

func records(a Adapter, raw []byte) (int, error) {
	src, err := inputText(raw)
	if err != nil {
		return 0, err
	}
	items, _, list, err := splitInput(src, PageKeys(a), nil, nil)
	if err != nil {
		return 0, err
	}
	if !list {
		return 1, nil
	}
	return len(items), nil
}
