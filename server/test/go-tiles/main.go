// Tiles check against Go's reference code (golang.org/x/mod/sumdb/tlog), driven by
// server/test/log-tiles.test.ts: one JSON request on stdin, one JSON answer on stdout.
// (a) From the leaves alone, Go computes every hash tile a tree of `size` has (tlog.NewTiles, tlog.ReadTileData
// at height 8, the C2SP tile height), for the test to compare byte for byte with what the server serves.
// (b) Over the served tiles only, Go's tlog.TileHashReader computes the tree hash (must be the checkpoint's
// root) and an inclusion proof for every leaf, checked with tlog.CheckRecord.
// Built in GOPATH mode (GO111MODULE=off, GOPATH=/usr/share/gocode): no network.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Size   int64             `json:"size"`
	Root   []byte            `json:"root"`
	Leaves [][]byte          `json:"leaves"`
	Served map[string][]byte `json:"served"`
}

type tile struct {
	Path string `json:"path"`
	Data []byte `json:"data"`
}

type answer struct {
	Tiles       []tile   `json:"tiles"`
	ServedRoot  []byte   `json:"servedRoot"`
	RootError   string   `json:"rootError"`
	ProofErrors []string `json:"proofErrors"`
}

// Go's tile paths carry the height (tile/8/L/N); C2SP fixes it at 8 and drops the segment.
func c2spPath(t tlog.Tile) string {
	return strings.Replace(t.Path(), "tile/8/", "tile/", 1)
}

type servedTiles map[string][]byte

func (s servedTiles) Height() int { return 8 }

func (s servedTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		d, ok := s[c2spPath(t)]
		if !ok {
			return nil, fmt.Errorf("tile %s not served", c2spPath(t))
		}
		out[i] = d
	}
	return out, nil
}

func (s servedTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		panic(err)
	}
	var ans answer

	var stored []tlog.Hash
	own := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range req.Leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, own)
		if err != nil {
			panic(err)
		}
		stored = append(stored, hs...)
	}
	for _, t := range tlog.NewTiles(8, 0, req.Size) {
		data, err := tlog.ReadTileData(t, own)
		if err != nil {
			panic(err)
		}
		ans.Tiles = append(ans.Tiles, tile{Path: c2spPath(t), Data: data})
	}

	var root tlog.Hash
	copy(root[:], req.Root)
	thr := tlog.TileHashReader(tlog.Tree{N: req.Size, Hash: root}, servedTiles(req.Served))
	h, err := tlog.TreeHash(req.Size, thr)
	if err != nil {
		ans.RootError = err.Error()
	} else {
		ans.ServedRoot = h[:]
	}
	for i, leaf := range req.Leaves {
		p, err := tlog.ProveRecord(req.Size, int64(i), thr)
		if err == nil {
			err = tlog.CheckRecord(p, req.Size, root, int64(i), tlog.RecordHash(leaf))
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		ans.ProofErrors = append(ans.ProofErrors, msg)
	}
	if err := json.NewEncoder(os.Stdout).Encode(ans); err != nil {
		panic(err)
	}
}
