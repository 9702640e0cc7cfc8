package adapt

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestVendorEventIDNamespaced: records with the vendor's own id get an
// event_id that depends on the msp and the format, and on nothing else:
// two MSPs' NinjaOne instances both logging activity 4711 give two IDs,
// the same record of the same MSP gives the same ID on every conversion
// (a replay deduplicates), and the vendor's id stays readable.
func TestVendorEventIDNamespaced(t *testing.T) {
	records := map[string]string{
		"ninjaone":      `{"id":4711,"activityTime":1763647120.25,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","data":{"message":{"params":{"appUserName":"jdoe@x.example"}}}}`,
		"datto-rmm":     `{"id":"4711","category":"user","action":"login","date":1763647000,"user":{"userName":"jdoe@x.example"}}`,
		"entra-signin":  `{"id":"4711","createdDateTime":"2025-11-20T13:58:40Z","userPrincipalName":"jdoe@x.example","status":{"errorCode":0},"tenantId":"t1"}`,
		"m365-audit":    `{"Id":"4711","CreationTime":"2025-11-20T15:20:11","Operation":"UserLoggedIn","OrganizationId":"t1","UserId":"jdoe@x.example"}`,
		"screenconnect": `{"EventID":"4711","EventType":"LoginAttempt","Time":"2025-11-20T14:00:12.1234567","UserName":"jdoe","OperationResult":"Success"}`,
	}
	convert := func(format, msp string) (id, recordID string) {
		t.Helper()
		a, _ := Get(format)
		var got []Out
		if err := a.Convert([]byte(records[format]), msp, func(o Out) error {
			// Out.Event is the arena's until emit returns: a copy to
			// compare after Convert (keeping the arena's strings made
			// this test fail now and then, when the next conversion
			// rewrote them).
			if o.Event != nil {
				o.Event = Keep(o.Event)
			}
			got = append(got, o)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Event == nil {
			t.Fatalf("%s: %+v", format, got)
		}
		ev := got[0].Event
		return ev.EventID, ev.Attributes[format+".record_id"]
	}
	seen := map[string]string{}
	for format := range records {
		for _, msp := range []string{"msp-northwind", "msp-bluefin"} {
			id, rid := convert(format, msp)
			again, _ := convert(format, msp)
			switch {
			case id != again:
				t.Errorf("%s %s: event_id %s, then %s", format, msp, id, again)
			case !strings.HasPrefix(id, format+":"):
				t.Errorf("%s %s: event_id %s lacks the format's prefix", format, msp, id)
			case rid != "4711":
				t.Errorf("%s %s: record_id %q, want the vendor's 4711", format, msp, rid)
			case seen[id] != "":
				t.Errorf("%s %s: event_id %s is also %s's", format, msp, id, seen[id])
			}
			seen[id] = format + " " + msp
		}
	}
}

// TestVendorEventIDIsUUIDv5: the hand-rolled UUIDv5 is uuid.NewSHA1's.
func TestVendorEventIDIsUUIDv5(t *testing.T) {
	for _, c := range [][2]string{{"msp-northwind", "ninjaone:4711"}, {"", ""}, {"m", "teamviewer:connection:x:start"}, {strings.Repeat("m", 256), "x:" + strings.Repeat("i", 400)}} {
		want := "f:" + uuid.NewSHA1(vendorIDNamespace, []byte(c[0]+"\x00"+recordID(c[1]))).String()
		if got := vendorEventID("f", c[0], c[1]); got != want {
			t.Errorf("vendorEventID(%q, %q) = %s, want %s", c[0], c[1], got, want)
		}
	}
}

// TestDerivedID holds the arena's derived ID, hashed in its own buffer,
// to uuid.NewSHA1 over the same document (contract.DeriveID's).
func TestDerivedID(t *testing.T) {
	var a arena
	for _, doc := range []string{"", `{"event_id":"","event_type":"auth.login"}`, strings.Repeat("x", 5000)} {
		want := "teamviewer:" + idOf([]byte(doc))
		if got := a.derivedID("teamviewer", []byte(doc)); got != want {
			t.Errorf("derivedID(%.20q) = %s, want %s", doc, got, want)
		}
	}
}
