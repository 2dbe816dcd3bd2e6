package faultinject

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
)

func TestRefuse(t *testing.T) {
	s := mustBuild(t, NewScenario("refuse").Route("GET /x", Status(200), Refuse().Times(2), Status(201)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		if resp, _ := mustGet(t, fe.client, fe.url+"/x"); resp.StatusCode != 200 {
			t.Fatalf("status = %d", resp.StatusCode)
		}
		for range 2 {
			_, _, err := get(t, fe.client, fe.url+"/x")
			var op *net.OpError
			if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
				t.Errorf("err = %v, want a dial refused with ECONNREFUSED", err)
			}
		}
		if resp, _ := mustGet(t, fe.client, fe.url+"/x"); resp.StatusCode != 201 {
			t.Errorf("status = %d, want 201", resp.StatusCode)
		}
		calls := fe.journal.Calls()
		want := []string{"respond", "refuse", "refuse", "respond"}
		if len(calls) != len(want) {
			t.Fatalf("journal = %s", fe.journal)
		}
		for i, w := range want {
			if calls[i].Action != w || calls[i].Route != "GET /x" || calls[i].Index != i+1 {
				t.Errorf("call %d = %+v, want %s", i+1, calls[i], w)
			}
		}
	})
}

func TestRefuseForever(t *testing.T) {
	s := mustBuild(t, NewScenario("down").Route("GET /x", Refuse()))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		for range 3 {
			if _, _, err := get(t, fe.client, fe.url+"/x"); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("err = %v, want ECONNREFUSED", err)
			}
		}
		if n := fe.journal.Count("GET /x"); n != 3 {
			t.Errorf("count = %d, want 3", n)
		}
	})
}

// TestRefuseExternalClient: a client with its own transport is not refused
// by the TCP server (the listener keeps accepting); the request that reaches
// the refuse step is closed without a byte.
func TestRefuseExternalClient(t *testing.T) {
	srv := NewServer(mustBuild(t, NewScenario("down").Route("GET /x", Refuse())))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, _, err := get(t, &http.Client{Transport: tr}, srv.URL+"/x")
	if !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want EOF", err)
	}
	if c := lastCall(t, srv.Journal()); c.Action != "refuse" || c.Method != "GET" {
		t.Errorf("journal = %s", srv.Journal())
	}
}
