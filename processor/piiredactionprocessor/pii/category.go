// Package pii finds personal data and secrets in text and replaces them with
// tokens such as <REDACTED_EMAIL>. It is the detector of the pii_redaction
// processor and is meant to be shared by anything else that must scrub text
// the same way (the PxL engine's redact_pii_best_effort, for example).
//
// The detector is a single pass over the bytes of a string: a class table
// decides at each word start which of the few candidate shapes can begin
// there, and every candidate is validated (Luhn for cards and IMEIs, mod-97
// and the country's length for IBANs, SSA rules for SSNs, octet ranges for
// IPv4, group counts for IPv6, a decodable JSON header for JWTs, ...) before
// it counts. Strings without any match are returned as they are, without
// allocating.
package pii

import "strings"

// Category is one kind of personal data or secret.
type Category uint8

// The categories, in tie-break order: when two detections cover exactly the
// same bytes the lower one names the token.
const (
	Email Category = iota
	CreditCard
	IBAN
	SSN
	IMEI
	Phone
	IPv6
	IPv4
	MACAddress
	Auth
	JWT
	APIKey
	// NumCategories is the number of categories.
	NumCategories
)

var names = [NumCategories]string{
	Email:      "email",
	CreditCard: "credit_card",
	IBAN:       "iban",
	SSN:        "ssn",
	IMEI:       "imei",
	Phone:      "phone",
	IPv6:       "ipv6",
	IPv4:       "ipv4",
	MACAddress: "mac_address",
	Auth:       "auth",
	JWT:        "jwt",
	APIKey:     "api_key",
}

var tokens = [NumCategories]string{
	Email:      "<REDACTED_EMAIL>",
	CreditCard: "<REDACTED_CC_NUMBER>",
	IBAN:       "<REDACTED_IBAN>",
	SSN:        "<REDACTED_SSN>",
	IMEI:       "<REDACTED_IMEI>",
	Phone:      "<REDACTED_PHONE_NUMBER>",
	IPv6:       "<REDACTED_IPV6>",
	IPv4:       "<REDACTED_IPV4>",
	MACAddress: "<REDACTED_MAC_ADDR>",
	Auth:       "<REDACTED_AUTH_TOKEN>",
	JWT:        "<REDACTED_JWT>",
	APIKey:     "<REDACTED_API_KEY>",
}

// Name is the category's name in configs and metrics (`credit_card`).
func (c Category) Name() string {
	if c < NumCategories {
		return names[c]
	}
	return "unknown"
}

// Token is the text that replaces a detection (`<REDACTED_CC_NUMBER>`).
func (c Category) Token() string {
	if c < NumCategories {
		return tokens[c]
	}
	return "<REDACTED>"
}

// ParseCategory returns the category called name (case-insensitive).
func ParseCategory(name string) (Category, bool) {
	for c := Category(0); c < NumCategories; c++ {
		if strings.EqualFold(names[c], name) {
			return c, true
		}
	}
	return 0, false
}

// Names lists every category name in order.
func Names() []string {
	out := make([]string, NumCategories)
	copy(out, names[:])
	return out
}

// Set is a set of categories.
type Set uint32

// All holds every category.
const All Set = 1<<NumCategories - 1

// Of returns the set holding cs.
func Of(cs ...Category) Set {
	var s Set
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// Has reports whether c is in the set.
func (s Set) Has(c Category) bool { return s&(1<<c) != 0 }

// Counts holds a number per category.
type Counts [NumCategories]int

// Total is the sum over the categories.
func (c *Counts) Total() int {
	t := 0
	for _, n := range c {
		t += n
	}
	return t
}
