package pxl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactPIIBestEffort(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `import px
df = px.DataFrame('http_events', start_time='-5m')
df = df.head(1)
df.clean = px.redact_pii_best_effort('mail jane.doe@example.com card 4111 1111 1111 1111 ok 4111 1111 1111 1112')
px.display(df[['clean']], 'out')`)
	require.Len(t, res.Tables[0].Rows, 1)
	assert.Equal(t, "mail <REDACTED_EMAIL> card <REDACTED_CC_NUMBER> ok 4111 1111 1111 1112", res.Tables[0].Rows[0][0],
		"a Luhn-invalid number is not a card")
}
