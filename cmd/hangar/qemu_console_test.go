package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestQEMUConsoleSerial follows a real guest's serial console through the web console: the
// machine page offers it, and its stream carries what the guest printed while booting.
func TestQEMUConsoleSerial(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	data := vmData(t, e)
	p := startProc(t, data, qemuFlags(e)...)
	ts := p.ts(readKey(t, data))
	tmpl := kernelTemplate(t, ts, e)
	key := newTeamAdmin(t, ts)
	id := createVM(t, ts, key, map[string]any{"templateId": tmpl, "machineName": "serial"})["id"].(string)
	waitVM(t, ts, key, id, "ready", 3*time.Minute)
	defer ts.do(t, key, "POST", "/machines/"+id+"/destroyMachine", nil, nil)

	c := consoleClient(t, p.url, key)
	res, err := c.Get(p.url + "/console/machines/" + id)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), `id="serial"`) {
		t.Fatalf("the machine page of a qemu machine has no serial console (%d)", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/console/machines/"+id+"/serial", nil)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("serial stream: %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text())
		if strings.Contains(seen.String(), "HANGAR-READY") {
			return
		}
	}
	t.Fatalf("the serial stream ended without the guest's HANGAR-READY (%v); got %q", sc.Err(), seen.String())
}
