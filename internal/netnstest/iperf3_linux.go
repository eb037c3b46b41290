package netnstest

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Iperf3Result is what an iperf3 TCP test received.
type Iperf3Result struct {
	Bytes         float64 // bytes the server received
	BitsPerSecond float64 // the server's receive rate
}

// Iperf3 runs a TCP iperf3 test of the given length from client to an
// iperf3 server it starts in server, bound to addr (an address of server's
// own), on port 5201. It skips t without iperf3 and fails it if the test
// fails or receives nothing. The server serves one test and exits; it is
// killed when the test ends if it has not.
func Iperf3(t testing.TB, server, client *NS, addr string, seconds int) Iperf3Result {
	t.Helper()
	RequireCommand(t, "iperf3", "iperf3")
	server.Start("iperf3", "-s", "-1", "-B", addr, "-p", "5201")
	type report struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				Bytes         float64 `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	dur := time.Duration(seconds) * time.Second
	secs := strconv.Itoa(seconds)
	var res report
	for try := 0; ; try++ {
		out, err := client.TryExec(dur+30*time.Second, "iperf3", "-c", addr, "-p", "5201", "-t", secs, "-J")
		res = report{}
		if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
			t.Fatalf("iperf3 -t %s to %s: %v (%v)\n%s", secs, addr, err, jerr, out)
		}
		if strings.Contains(res.Error, "connect") && try < 20 {
			time.Sleep(200 * time.Millisecond) // the server is not listening yet
			continue
		}
		if err != nil || res.Error != "" {
			t.Fatalf("iperf3 -t %s to %s: %v: %s", secs, addr, err, res.Error)
		}
		break
	}
	got := Iperf3Result{Bytes: res.End.SumReceived.Bytes, BitsPerSecond: res.End.SumReceived.BitsPerSecond}
	if got.Bytes == 0 {
		t.Errorf("iperf3 to %s received nothing", addr)
	}
	return got
}
