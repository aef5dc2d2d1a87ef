// Command pxl is the command-line client of the table_store extension's
// PxL endpoint: it sends a script (a file, an inline expression or the name
// of a bundled script) to POST /v1/query and prints the tables it returns
// as aligned text, JSON or CSV.
//
//	pxl run px/http_data -- --start_time=-10m --destination_filter=cart
//	pxl run -f my.pxl [-func name] [-o table|json|csv] [--endpoint URL]
//	pxl run -e 'import px; px.display(px.DataFrame("http_events").head(5))'
//	pxl tables | pxl scripts | pxl functions
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

const defaultEndpoint = "http://127.0.0.1:9099"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  pxl run [flags] [px/script] [-- --arg=value ...]   run a script
  pxl tables [--endpoint URL]                       list tables and columns
  pxl scripts [--endpoint URL]                      list bundled scripts
  pxl functions [--endpoint URL]                    list px functions
run flags:
  -f file        PxL file to run ("-" for stdin)
  -e script      inline PxL (statements separated by ";" or newlines)
  -func name     function to call with the -- arguments (default main)
  -o format      table (default), json or csv
  --endpoint URL the table_store endpoint (default $PXL_ENDPOINT or ` + defaultEndpoint + `)
  --timeout d    HTTP timeout (default 60s)
`

type client struct {
	endpoint string
	http     *http.Client
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	var scriptArgs []string
	for i, a := range args {
		if a == "--" {
			args, scriptArgs = args[:i], args[i+1:]
			break
		}
	}
	fs := flag.NewFlagSet("pxl "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	def := os.Getenv("PXL_ENDPOINT")
	if def == "" {
		def = defaultEndpoint
	}
	endpoint := fs.String("endpoint", def, "")
	file := fs.String("f", "", "")
	expr := fs.String("e", "", "")
	fn := fs.String("func", "", "")
	format := fs.String("o", "table", "")
	timeout := fs.Duration("timeout", 60*time.Second, "")
	// Flags may come before and after the script name.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	c := &client{endpoint: strings.TrimSuffix(*endpoint, "/"), http: &http.Client{Timeout: *timeout}}
	switch cmd {
	case "run":
		req := map[string]any{}
		switch {
		case *file != "":
			var src []byte
			var err error
			if *file == "-" {
				src, err = io.ReadAll(os.Stdin)
			} else {
				src, err = os.ReadFile(*file)
			}
			if err != nil {
				fmt.Fprintln(stderr, "pxl:", err)
				return 1
			}
			req["script"] = string(src)
		case *expr != "":
			req["script"] = *expr
		case len(pos) == 1:
			req["name"] = pos[0]
		default:
			fmt.Fprint(stderr, usage)
			return 2
		}
		if *fn != "" {
			req["func"] = *fn
		}
		sa, err := parseScriptArgs(scriptArgs)
		if err != nil {
			fmt.Fprintln(stderr, "pxl:", err)
			return 2
		}
		if len(sa) > 0 {
			req["args"] = sa
		}
		body, _ := json.Marshal(req)
		raw, err := c.do(http.MethodPost, "/v1/query", body)
		if err != nil {
			fmt.Fprintln(stderr, "pxl:", err)
			return 1
		}
		if err := printResult(raw, *format, stdout); err != nil {
			fmt.Fprintln(stderr, "pxl:", err)
			return 1
		}
		return 0
	case "tables", "scripts", "functions":
		path := map[string]string{"tables": "/v1/tables", "scripts": "/v1/scripts", "functions": "/v1/functions"}[cmd]
		raw, err := c.do(http.MethodGet, path, nil)
		if err != nil {
			fmt.Fprintln(stderr, "pxl:", err)
			return 1
		}
		if *format == "json" {
			_, _ = stdout.Write(raw)
			return 0
		}
		if err := printListing(cmd, raw, stdout); err != nil {
			fmt.Fprintln(stderr, "pxl:", err)
			return 1
		}
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// parseScriptArgs reads --key=value (or --key value) pairs. Integers,
// floats and true/false are sent as JSON numbers and booleans.
func parseScriptArgs(args []string) (map[string]any, error) {
	out := map[string]any{}
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		if a == args[i] || a == "" {
			return nil, fmt.Errorf("script argument %q: want --name=value", args[i])
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("script argument --%s has no value", k)
			}
			i++
			v = args[i]
		}
		switch {
		case v == "true" || v == "false":
			out[k] = v == "true"
		default:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = n
			} else if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "mshdu") {
				out[k] = f
			} else {
				out[k] = v
			}
		}
	}
	return out, nil
}

func (c *client) do(method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				File    string `json:"file"`
				Line    int    `json:"line"`
				Column  int    `json:"column"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			if e.Error.Line > 0 {
				return nil, fmt.Errorf("%s:%d:%d: %s", e.Error.File, e.Error.Line, e.Error.Column, e.Error.Message)
			}
			return nil, errors.New(e.Error.Message)
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	return raw, nil
}

type result struct {
	Tables []struct {
		Name    string `json:"name"`
		Columns []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"columns"`
		Rows      [][]any `json:"rows"`
		Truncated bool    `json:"truncated"`
	} `json:"tables"`
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func printResult(raw []byte, format string, w io.Writer) error {
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return err
		}
		_, err := w.Write(buf.Bytes())
		return err
	}
	var res result
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return fmt.Errorf("bad response: %w", err)
	}
	for i, t := range res.Tables {
		header := make([]string, len(t.Columns))
		for j, c := range t.Columns {
			header[j] = c.Name
		}
		switch format {
		case "csv":
			if len(res.Tables) > 1 {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "# %s\n", t.Name)
			}
			cw := csv.NewWriter(w)
			_ = cw.Write(header)
			for _, r := range t.Rows {
				rec := make([]string, len(r))
				for j, v := range r {
					rec[j] = cell(v)
				}
				_ = cw.Write(rec)
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		case "table":
			if i > 0 {
				fmt.Fprintln(w)
			}
			note := ""
			if t.Truncated {
				note = ", truncated"
			}
			fmt.Fprintf(w, "%s (%d rows%s)\n", t.Name, len(t.Rows), note)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(header, "\t"))
			for _, r := range t.Rows {
				cells := make([]string, len(r))
				for j, v := range r {
					cells[j] = strings.NewReplacer("\t", " ", "\n", " ").Replace(cell(v))
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown output format %q (table, json or csv)", format)
		}
	}
	return nil
}

func printListing(cmd string, raw []byte, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch cmd {
	case "tables":
		var out struct {
			Tables []struct {
				Name    string `json:"name"`
				Rows    int64  `json:"rows"`
				Columns []struct {
					Name string `json:"name"`
					Type string `json:"type"`
				} `json:"columns"`
			} `json:"tables"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		fmt.Fprintln(tw, "table\trows\tcolumns")
		for _, t := range out.Tables {
			cols := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				cols[i] = c.Name + ":" + c.Type
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Name, t.Rows, strings.Join(cols, " "))
		}
	case "scripts":
		var out struct {
			Scripts []struct{ Name, Doc string } `json:"scripts"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		fmt.Fprintln(tw, "script\tdescription")
		for _, s := range out.Scripts {
			fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Doc)
		}
	case "functions":
		var out struct {
			Functions map[string]string `json:"functions"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		names := make([]string, 0, len(out.Functions))
		for n := range out.Functions {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(tw, "px.%s\t%s\n", n, out.Functions[n])
		}
	}
	return nil
}
