package faultinject

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestJournalRecordsRequests(t *testing.T) {
	s := mustBuild(t, NewScenario("orders").Route("POST /orders", Status(503).RetryAfter(time.Second), Status(201)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		body := []byte(`{"item":1}`)
		for attempt := range 2 {
			req, _ := http.NewRequest("POST", fe.url+"/orders?x=1", bytes.NewReader(body))
			req.Header.Set("Idempotency-Key", "key-1")
			req.Header.Set("Retrylab-Attempt", []string{"1", "2"}[attempt])
			req.Header.Add("X-Multi", "a")
			req.Header.Add("X-Multi", "b")
			resp, err := fe.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if fe.virtual {
				time.Sleep(100 * time.Millisecond)
			}
		}
		sum := sha256.Sum256(body)
		calls := fe.journal.Calls()
		if len(calls) != 2 {
			t.Fatalf("journal = %s", fe.journal)
		}
		for i, c := range calls {
			if c.Path != "/orders" || c.IdempotencyKey != "key-1" || c.Attempt != i+1 || c.BodyLen != int64(len(body)) ||
				c.BodySHA256 != hex.EncodeToString(sum[:]) || strings.Join(c.Header.Values("X-Multi"), ",") != "a,b" {
				t.Errorf("call %d = %+v", i+1, c)
			}
			if c.End.Before(c.Start) {
				t.Errorf("call %d ends before it starts", i+1)
			}
		}
		if calls[0].RetryAfter != "1" || calls[1].Status != 201 {
			t.Errorf("journal = %s", fe.journal)
		}
		if fe.kind != "httpmock" && (calls[0].ConnID != 1 || calls[0].Reused || calls[1].ConnID != 1 || !calls[1].Reused) {
			t.Errorf("want both calls on connection 1, the second reused:\n%s", fe.journal)
		}
		if fe.virtual && (len(fe.journal.Gaps("")) != 1 || fe.journal.Gaps("POST /orders")[0] != 100*time.Millisecond) {
			t.Errorf("gaps = %v, want [100ms]", fe.journal.Gaps(""))
		}
	})
}

func TestWithAttemptHeader(t *testing.T) {
	s := mustBuild(t, NewScenario("a").Route("GET /x", Status(200)))
	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(s, WithAttemptHeader("X-Try"))
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		req.Header.Set("X-Try", "3")
		req.Header.Set(AttemptHeader, "9")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if c := lastCall(t, srv.Journal()); c.Attempt != 3 {
			t.Errorf("attempt = %d, want 3", c.Attempt)
		}
	})
}

func TestJournalTimeline(t *testing.T) {
	s := mustBuild(t, NewScenario("timeline").
		Route("GET /users/{id}", Status(503).RetryAfter(2*time.Second), Reset(), Status(200).Delay(150*time.Millisecond)))
	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(s)
		defer srv.Close()
		c := srv.Client()
		for i, pause := range []time.Duration{time.Second, 2 * time.Second, 0} {
			req, _ := http.NewRequest("GET", srv.URL+"/users/1", nil)
			req.Header.Set(AttemptHeader, string(rune('1'+i)))
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			time.Sleep(pause)
		}
		mustGet(t, c, srv.URL+"/nope")
		want := `journal of "timeline": 4 calls
#1 +0s GET /users/1 [GET /users/{id} #1] attempt 1 conn 1 → 503 Retry-After: 2
#2 +1s GET /users/1 [GET /users/{id} #2] attempt 2 conn 2 → reset
#3 +3s GET /users/1 [GET /users/{id} #3] attempt 3 conn 3 → 200 in 150ms
#4 +3.15s GET /nope conn 3 (reused) → unmatched 404`
		if got := srv.Journal().GomegaString(); got != want {
			t.Errorf("timeline:\n%s\nwant:\n%s", got, want)
		}
		if srv.Journal().String() != want {
			t.Errorf("String differs from GomegaString")
		}
		if c := srv.Journal().Counts(); len(c) != 2 || c["GET /users/{id}"] != 3 || c[""] != 1 {
			t.Errorf("counts = %v", c)
		}
	})
}
