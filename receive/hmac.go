package receive

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Headers of an HMAC-signed request, for senders that sign bodies rather
// than hold a bearer token: the MSP whose secret signed it, the Unix time
// of signing, and sha256=HEX, the HMAC-SHA256 of "TIMESTAMP.BODY" under
// that MSP's secret. The timestamp is signed so a captured request cannot
// be replayed later than MaxSkew; a replay within it writes records
// storage already has (event_id dedup).
const (
	HeaderSignedMSP = "X-Tripline-MSP"
	HeaderTimestamp = "X-Tripline-Timestamp"
	HeaderSignature = "X-Tripline-Signature"
	// MaxSkew is how far a signed timestamp may be from the receiver's
	// clock, either way.
	MaxSkew = 5 * time.Minute
)

// minSecretLen keeps secrets out of guessing range.
const minSecretLen = 32

// Secrets are the per-MSP HMAC secrets, read from a file.
type Secrets struct {
	byMSP map[string][]byte
}

// ParseSecrets reads a secrets file: one MSP a line, msp:secret, secrets
// of at least 32 characters; blank lines and # comments ignored. Errors
// name the file and line, never a secret.
func ParseSecrets(data []byte, file string) (*Secrets, error) {
	s := &Secrets{byMSP: map[string][]byte{}}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		msp, secret, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s:%d: want msp:secret", file, n))
		case !mspRe.MatchString(msp):
			errs = append(errs, fmt.Errorf("%s:%d: msp %q: letters, digits and ._- only", file, n, msp))
		case s.byMSP[msp] != nil:
			errs = append(errs, fmt.Errorf("%s:%d: msp %s appears twice", file, n, msp))
		case len(secret) < minSecretLen:
			errs = append(errs, fmt.Errorf("%s:%d: the secret of %s is shorter than %d characters", file, n, msp, minSecretLen))
		default:
			s.byMSP[msp] = []byte(secret)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", file, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(s.byMSP) == 0 {
		return nil, fmt.Errorf("%s: no secrets", file)
	}
	return s, nil
}

// LoadSecrets reads and parses a secrets file.
func LoadSecrets(path string) (*Secrets, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hmac secrets: %w", err)
	}
	return ParseSecrets(data, path)
}

// Len is the number of MSPs with a secret.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byMSP)
}

// Sign returns the X-Tripline-Signature value of body signed at ts with
// secret.
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// verify checks a signed request and returns its MSP. The reasons it
// gives say which check failed, never anything secret.
func (s *Secrets) verify(msp, timestamp, signature string, body []byte, now time.Time) (string, error) {
	secret := s.byMSP[msp]
	if secret == nil {
		return "", errors.New("unknown " + HeaderSignedMSP)
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "", errors.New(HeaderTimestamp + " is not Unix seconds")
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > MaxSkew || d < -MaxSkew {
		return "", fmt.Errorf("%s is more than %v from the receiver's clock", HeaderTimestamp, MaxSkew)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(strings.ToLower(strings.TrimSpace(signature)))) {
		return "", errors.New("the signature does not match the body")
	}
	return msp, nil
}
