package tablestoreextension

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/pxl"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

const (
	// maxScriptBytes bounds the body of a query request.
	maxScriptBytes = 1 << 20
	// maxConcurrentQueries bounds the queries running at once; more wait.
	maxConcurrentQueries = 2
)

// queryRequest is the JSON body of POST /v1/query (alias /v1/pxl).
type queryRequest struct {
	// Script is PxL source; Name a bundled script ("px/http_data") used
	// when Script is empty.
	Script string `json:"script"`
	Name   string `json:"name"`
	// Func is a function of the script to call with Args as keyword
	// arguments (default: main, when the script displays nothing itself).
	Func string         `json:"func"`
	Args map[string]any `json:"args"`
	// Format is json (default) or arrow: one Arrow IPC stream per table,
	// one after the other (the table name is in the schema metadata).
	Format string `json:"format"`
}

type queryError struct {
	Error *pxl.Error `json:"error"`
}

// registerQueryHandlers adds the PxL endpoints to mux; redact (nil in full
// access mode) names the columns queries see as REDACTED.
func registerQueryHandlers(mux *http.ServeMux, store *tablestore.Store, logger *zap.Logger, redact func(table, column string) bool) {
	engine := pxl.New(store, pxl.Options{Redact: redact})
	sem := make(chan struct{}, maxConcurrentQueries)
	h := func(w http.ResponseWriter, r *http.Request) {
		req, err := readQuery(w, r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, queryError{&pxl.Error{Msg: err.Error()}}, logger)
			return
		}
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
		case <-r.Context().Done():
			return
		}
		if f := r.URL.Query().Get("format"); f != "" {
			req.Format = f
		}
		if req.Format != "" && req.Format != "json" && req.Format != "arrow" {
			writeJSON(w, http.StatusBadRequest, queryError{&pxl.Error{Msg: "format must be json or arrow"}}, logger)
			return
		}
		res, err := engine.Run(r.Context(), pxl.Query{
			Script: req.Script, Filename: "script.pxl", Name: req.Name, Func: req.Func, Args: req.Args,
		})
		if err != nil {
			var pe *pxl.Error
			if !errors.As(err, &pe) {
				pe = &pxl.Error{Msg: err.Error()}
			}
			status := http.StatusBadRequest
			if errors.Is(r.Context().Err(), context.Canceled) {
				return // the client went away
			}
			writeJSON(w, status, queryError{pe}, logger)
			return
		}
		if req.Format == "arrow" {
			w.Header().Set("Content-Type", "application/vnd.apache.arrow.stream")
			for _, t := range res.Tables {
				if err := t.WriteArrow(w); err != nil {
					logger.Debug("writing arrow response", zap.Error(err))
					return
				}
			}
			return
		}
		writeJSON(w, http.StatusOK, res, logger)
	}
	mux.HandleFunc("POST /v1/query", h)
	mux.HandleFunc("POST /v1/pxl", h)
	mux.HandleFunc("GET /v1/scripts", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"scripts": pxl.Scripts()}, logger)
	})
	mux.HandleFunc("GET /v1/functions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"functions": pxl.Functions()}, logger)
	})
}

// readQuery accepts a JSON request or the raw script (with optional
// ?name= and ?func= query parameters).
func readQuery(w http.ResponseWriter, r *http.Request) (*queryRequest, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxScriptBytes))
	if err != nil {
		return nil, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	if ct == "application/json" || (ct != "text/plain" && bytes.HasPrefix(trimmed, []byte("{"))) {
		var q queryRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&q); err != nil {
			return nil, errors.New("bad JSON request: " + err.Error())
		}
		for k, v := range q.Args {
			if n, ok := v.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					q.Args[k] = i
				} else if f, err := n.Float64(); err == nil {
					q.Args[k] = f
				}
			}
		}
		if strings.TrimSpace(q.Script) == "" && q.Name == "" {
			return nil, errors.New(`the request has neither "script" nor "name"`)
		}
		return &q, nil
	}
	q := &queryRequest{Script: string(body), Name: r.URL.Query().Get("name"), Func: r.URL.Query().Get("func")}
	if len(trimmed) == 0 && q.Name == "" {
		return nil, errors.New("empty script")
	}
	return q, nil
}

func writeJSON(w http.ResponseWriter, status int, v any, logger *zap.Logger) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logger.Debug("writing query response", zap.Error(err))
	}
}
