// Interop check against Go's reference code (golang.org/x/mod/sumdb/{note,tlog}), driven by
// shared/test/tlog-go-interop.test.ts: reads one JSON request on stdin, writes one JSON answer on stdout.
// (a) verifies what our TypeScript produced: the signed checkpoint with note.Open, inclusion proofs with
//
//	tlog.CheckRecord, consistency proofs with tlog.CheckTree (tampered cases must fail: errors are reported);
//
// (b) produces what our TypeScript must verify: roots, tlog.ProveRecord / tlog.ProveTree proofs, and a
//
//	checkpoint signed with note.Sign under a fresh key.
//
// (c) checks C2SP tlog-cosignature/v1 lines on our notes with crypto/ed25519 alone (x/mod predates
//
//	cosignatures): the key ID, the timestamp and the signed message are computed here, independently.
//
// Built in GOPATH mode (GO111MODULE=off, GOPATH=/usr/share/gocode): no network.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Leaf  []byte   `json:"leaf"`
	Proof [][]byte `json:"proof"`
	Root  []byte   `json:"root"`
}

type consistency struct {
	First      int64    `json:"first"`
	Second     int64    `json:"second"`
	Proof      [][]byte `json:"proof"`
	FirstRoot  []byte   `json:"firstRoot"`
	SecondRoot []byte   `json:"secondRoot"`
}

type pair struct {
	A int64 `json:"a"`
	B int64 `json:"b"`
}

type request struct {
	Vkey        string        `json:"vkey"`
	Notes       []string      `json:"notes"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
	Leaves      [][]byte      `json:"leaves"`
	ProveRecord []pair        `json:"proveRecord"`
	ProveTree   []pair        `json:"proveTree"`
	Origin      string        `json:"origin"`
	Witnesses   []string      `json:"witnesses"`
	Cosigned    []string      `json:"cosigned"`
}

type proof struct {
	A     int64    `json:"a"`
	B     int64    `json:"b"`
	Proof [][]byte `json:"proof"`
}

type answer struct {
	NoteTexts      []string `json:"noteTexts"`
	NoteErrors     []string `json:"noteErrors"`
	InclusionErrs  []string `json:"inclusionErrors"`
	ConsistentErrs []string `json:"consistencyErrors"`
	Roots          [][]byte `json:"roots"`
	RecordProofs   []proof  `json:"recordProofs"`
	TreeProofs     []proof  `json:"treeProofs"`
	Vkey           string   `json:"vkey"`
	Note           string   `json:"note"`
	// CosignErrors[i][j]: note Cosigned[i], witness Witnesses[j] ("" = a valid cosignature).
	CosignErrors [][]string `json:"cosignErrors"`
}

// verifyCosignature finds the witness's line on a signed note and checks it per tlog-cosignature/v1.
func verifyCosignature(vkey, signed string) error {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return fmt.Errorf("malformed vkey")
	}
	name, hexID := parts[0], parts[1]
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		return fmt.Errorf("not an Ed25519 cosigner key (type 0x04)")
	}
	pub := ed25519.PublicKey(key[1:])
	h := sha256.Sum256(append(append([]byte(name+"\n"), 0x04), pub...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != hexID {
		return fmt.Errorf("key ID does not match")
	}
	split := strings.LastIndex(signed, "\n\n")
	if split < 0 || !strings.HasSuffix(signed, "\n") {
		return fmt.Errorf("not a signed note")
	}
	text := signed[:split+1]
	prefix := "\u2014 " + name + " "
	for _, line := range strings.Split(signed[split+2:len(signed)-1], "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(line[len(prefix):])
		if err != nil || len(sig) != 4+8+64 || binary.BigEndian.Uint32(sig) != id {
			continue
		}
		ts := binary.BigEndian.Uint64(sig[4:12])
		msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, text)
		if ed25519.Verify(pub, []byte(msg), sig[12:]) {
			return nil
		}
		return fmt.Errorf("cosignature by %s does not verify", name)
	}
	return fmt.Errorf("no cosignature by %s", name)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func hash(b []byte) tlog.Hash {
	var h tlog.Hash
	if len(b) != len(h) {
		panic(fmt.Sprintf("hash of %d bytes", len(b)))
	}
	copy(h[:], b)
	return h
}

func hashes(bs [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(bs))
	for i, b := range bs {
		out[i] = hash(b)
	}
	return out
}

func bytesOf(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = append([]byte(nil), h[:]...)
	}
	return out
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		panic(err)
	}
	var ans answer

	// (a) Verify ours.
	v, err := note.NewVerifier(req.Vkey)
	if err != nil {
		panic(err)
	}
	for _, n := range req.Notes {
		opened, err := note.Open([]byte(n), note.VerifierList(v))
		text := ""
		if opened != nil {
			text = opened.Text
		}
		ans.NoteTexts = append(ans.NoteTexts, text)
		ans.NoteErrors = append(ans.NoteErrors, errText(err))
	}
	for _, n := range req.Cosigned {
		var errs []string
		for _, w := range req.Witnesses {
			errs = append(errs, errText(verifyCosignature(w, n)))
		}
		ans.CosignErrors = append(ans.CosignErrors, errs)
	}
	for _, c := range req.Inclusion {
		err := tlog.CheckRecord(hashes(c.Proof), c.Size, hash(c.Root), c.Index, tlog.RecordHash(c.Leaf))
		ans.InclusionErrs = append(ans.InclusionErrs, errText(err))
	}
	for _, c := range req.Consistency {
		err := tlog.CheckTree(hashes(c.Proof), c.Second, hash(c.SecondRoot), c.First, hash(c.FirstRoot))
		ans.ConsistentErrs = append(ans.ConsistentErrs, errText(err))
	}

	// (b) Produce theirs: a tree stored the tlog way, its roots, proofs and a signed checkpoint.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range req.Leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, reader)
		if err != nil {
			panic(err)
		}
		stored = append(stored, hs...)
	}
	n := int64(len(req.Leaves))
	for size := int64(1); size <= n; size++ {
		root, err := tlog.TreeHash(size, reader)
		if err != nil {
			panic(err)
		}
		ans.Roots = append(ans.Roots, append([]byte(nil), root[:]...))
	}
	for _, p := range req.ProveRecord {
		pr, err := tlog.ProveRecord(p.B, p.A, reader)
		if err != nil {
			panic(err)
		}
		ans.RecordProofs = append(ans.RecordProofs, proof{p.A, p.B, bytesOf(pr)})
	}
	for _, p := range req.ProveTree {
		pr, err := tlog.ProveTree(p.B, p.A, reader)
		if err != nil {
			panic(err)
		}
		ans.TreeProofs = append(ans.TreeProofs, proof{p.A, p.B, bytesOf(pr)})
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, req.Origin)
	if err != nil {
		panic(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	root := ans.Roots[n-1]
	text := fmt.Sprintf("%s\n%d\n%s\n", req.Origin, n, base64.StdEncoding.EncodeToString(root))
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		panic(err)
	}
	ans.Vkey = vkey
	ans.Note = string(signed)
	if err := json.NewEncoder(os.Stdout).Encode(ans); err != nil {
		panic(err)
	}
}
