package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/scriptd/scriptd/storagefw"
)

// killChildEnv makes the test binary run runKillChild instead of the tests.
const killChildEnv = "SCRIPTD_SQLITE_KILL_CHILD_DB"

// runKillChild is the child process of TestKill9Durability: it writes keys
// as fast as it can, many in flight, and prints each key's number on stdout
// only after its put completed with SUCCESS. It runs until killed.
func runKillChild(path string) int {
	b, err := Open(context.Background(), storagefw.OpenConfig{Options: fileOptions(path, "kill")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	acks := make(chan int, 4096)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for i := range acks {
			fmt.Fprintf(w, "%d\n", i)
			if len(acks) == 0 {
				w.Flush()
			}
		}
	}()
	sem := make(chan struct{}, 512)
	for i := 0; ; i++ {
		sem <- struct{}{}
		op := storagefw.NewRequest(storagefw.PutRequest, func(r storagefw.Reply) {
			if r.Code == storagefw.Success {
				acks <- i
			} else {
				fmt.Fprintln(os.Stderr, "put failed:", r.Code, r.Error)
			}
			<-sem
		})
		op.Key, op.Value, op.Overwrite = ser(fmt.Sprintf("key-%d", i)), ser(i), true
		b.Submit(op)
	}
}

func TestKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "kill.sqlite")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read acks until there are plenty, then SIGKILL the child mid-stream.
	const enough = 20000
	r := bufio.NewReader(out)
	var acked []int
	killed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF after the kill; a partial last line is not an ack
		}
		n, perr := strconv.Atoi(strings.TrimSpace(line))
		if perr != nil {
			t.Fatalf("child printed %q", line)
		}
		acked = append(acked, n)
		if !killed && len(acked) >= enough {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited early after %d acks: %v\n%s", len(acked), werr, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", werr)
	}
	t.Logf("%d acknowledged puts before and around SIGKILL", len(acked))

	// Every acknowledged put is in the database, and the file is sound.
	db := rawDB(t, path)
	var check string
	if err := db.QueryRow("pragma integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	present := map[string]bool{}
	rows, err := db.Query("select key_str, value_str from kill")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		present[string(k)+"="+string(v)] = true
	}
	rows.Close()
	missing := 0
	for _, i := range acked {
		if !present[string(ser(fmt.Sprintf("key-%d", i)))+"="+string(ser(i))] {
			if missing++; missing < 10 {
				t.Errorf("acknowledged key-%d is missing", i)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged puts lost", missing, len(acked))
	}
	if len(present) < len(acked) {
		t.Fatalf("%d rows for %d acks", len(present), len(acked))
	}
	// The backend reopens the file (recovering the WAL) and reads it.
	b := openT(t, fileOptions(path, "kill"), nil, -1)
	defer closeT(t, b)
	last := acked[len(acked)-1]
	want(t, "last ack after reopen", do(t, b, get(ser(fmt.Sprintf("key-%d", last)), t0)), storagefw.Success, ser(last))
}
