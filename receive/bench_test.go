package receive_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/tripline/tripline/receive"
)

// BenchmarkReceive: batch posts of NinjaOne records over HTTP, each
// acknowledged by the in-process broker (acks=all) before its 202, the
// broker on the same cores, as an array and as the API's page (an object
// whose records the receiver counts under its page key). Reports
// events/s (issue 14: ≥ 20,000).
func BenchmarkReceive(b *testing.B) {
	for _, shape := range []struct{ name, open, close string }{
		{"array", "[", "]"},
		{"page", `{"activities":[`, `],"lastId":88413499}`},
	} {
		b.Run(shape.name, func(b *testing.B) { benchReceive(b, shape.open, shape.close) })
	}
}

func benchReceive(b *testing.B, open, close string) {
	const batch = 500
	e := newEnv(b, receive.Config{})
	var buf bytes.Buffer
	buf.WriteString(open)
	for i := range batch {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id":%d,"activityTime":1763650800.5,"deviceId":1042,"organizationId":12,"activityType":"ACTIONSET","statusCode":"START_REQUESTED","activityResult":"SUCCESS","sourceName":"Restart print spooler","userId":17,"data":{"message":{"code":"actionset_start_requested","params":{"appUserName":"asmith@northwind-msp.example","nodeName":"ELEC-WS014","scriptLanguage":"PowerShell"}}}}`, 88413000+i)
	}
	buf.WriteString(close)
	body := buf.Bytes()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := e.srv.URL + "/v1/ingest/ninjaone"
	auth := "Bearer " + e.tokens["msp-northwind"]
	b.SetBytes(int64(len(body)))
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
