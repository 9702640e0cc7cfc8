package adapt

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"unsafe"

	"github.com/google/uuid"
)

// vendorIDNamespace is the UUIDv5 namespace of the event IDs made from
// vendor record IDs. Changing it changes every such ID and breaks replay
// deduplication: never do.
var vendorIDNamespace = uuid.MustParse("44259896-0459-437c-8515-8669412a88f2")

// vendorEventID is the event_id of an event whose record carries the
// vendor's own id (id, as the adapter names it: "ninjaone:4711",
// "teamviewer:connection:…:start"). Vendor ids are unique within one
// vendor instance only: two MSPs on their own NinjaOne instances both
// have activity 4711. The ID is therefore "<format>:" and a UUIDv5 over
// the msp and the id without the adapter's prefix (recordID): the same record of the same MSP always gets the same ID
// (a replay or a re-poll deduplicates), the same id of two MSPs or two
// formats never does. The vendor's id stays readable in attributes
// (recordIDKey).
func vendorEventID(format, msp, id string) string {
	t := uuidText(vendorIDSum(msp, id))
	return format + ":" + string(t[:])
}

// vendorEventID is the package's vendorEventID, written into the arena's
// text (valid while the record's events are).
func (a *arena) vendorEventID(format, msp, id string) string {
	t := uuidText(vendorIDSum(msp, id))
	return a.join(format, ":", unsafe.String(&t[0], len(t)))
}

// vendorIDSum is the SHA-1 of vendorEventID's UUIDv5, computed on the
// stack (TestVendorEventIDIsUUIDv5 holds it to uuid.NewSHA1).
func vendorIDSum(msp, id string) [sha1.Size]byte {
	id = recordID(id)
	var stack [320]byte
	b := append(stack[:0], vendorIDNamespace[:]...)
	b = append(b, msp...)
	b = append(b, 0)
	b = append(b, id...)
	return sha1.Sum(b)
}

// uuidText is the text of the UUIDv5 whose SHA-1 is sum.
func uuidText(sum [sha1.Size]byte) (text [36]byte) {
	sum[6] = sum[6]&0x0f | 0x50 // version 5
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	hex.Encode(text[0:8], sum[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], sum[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], sum[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], sum[8:10])
	text[23] = '-'
	hex.Encode(text[24:36], sum[10:16])
	return text
}

// recordIDKey is the attribute that keeps the vendor's record id of an
// event: "<format>.record_id", the id without the adapter's prefix
// ("4711", "connection:…:start").
func recordIDKey(format string) string { return format + ".record_id" }

// recordID is id without the adapter's prefix (everything up to the first
// colon).
func recordID(id string) string {
	if _, rest, ok := strings.Cut(id, ":"); ok {
		return rest
	}
	return id
}
