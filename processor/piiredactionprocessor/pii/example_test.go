package pii_test

import (
	"fmt"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/pii"
)

func ExampleRedact() {
	var counts pii.Counts
	out, changed := pii.Redact(`{"email":"jane@example.com","card":"4111 1111 1111 1111","order":"4111 1111 1111 1112"}`, pii.All, &counts)
	fmt.Println(out)
	fmt.Println(changed, counts[pii.Email], counts[pii.CreditCard])
	// Output:
	// {"email":"<REDACTED_EMAIL>","card":"<REDACTED_CC_NUMBER>","order":"4111 1111 1111 1112"}
	// true 1 1
}
