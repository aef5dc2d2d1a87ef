package piiredactionprocessor

import (
	"strings"
	"sync"
)

// action is what a key's rules say to do with its value.
type action uint8

const (
	actScan    action = iota // detect PII in the value
	actNever                 // leave untouched
	actHash                  // replace by a keyed hash
	actAlways                // replace by REDACTED
	actPayload               // mode full: replace by REDACTED
	actSQL                   // mode full: replace SQL literals by ?
	actURL                   // mode full: replace the query string
)

// globMatch reports whether key matches pattern, ASCII case-insensitively;
// `*` in the pattern matches any run of characters.
func globMatch(pattern, key string) bool {
	p, k := 0, 0
	star, mark := -1, 0
	for k < len(key) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, k
			p++
		case p < len(pattern) && foldEq(pattern[p], key[k]):
			p++
			k++
		case star >= 0:
			p = star + 1
			mark++
			k = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func foldEq(a, b byte) bool {
	if a == b {
		return true
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

type rule struct {
	pats []string
	act  action
}

// keyRules resolves a key to its action, in precedence order: never touch,
// hash, always redact, then (mode full) SQL, URL and payload keys. Results
// are cached per key (keys repeat: a few hundred distinct ones in a busy
// pipeline); the cache stops growing at maxCachedKeys.
type keyRules struct {
	rules []rule
	mu    sync.RWMutex
	cache map[string]action
}

const maxCachedKeys = 8192

func newKeyRules(cfg *Config) *keyRules {
	kr := &keyRules{cache: map[string]action{}}
	addRule := func(p []string, a action) {
		if len(p) > 0 {
			kr.rules = append(kr.rules, rule{pats: p, act: a})
		}
	}
	addRule(cfg.NeverTouchKeys, actNever)
	addRule(cfg.Hash.Keys, actHash)
	addRule(cfg.AlwaysRedactKeys, actAlways)
	if cfg.Mode == ModeFull {
		addRule(cfg.SQLKeys, actSQL)
		addRule(cfg.URLKeys, actURL)
		addRule(cfg.PayloadKeys, actPayload)
	}
	return kr
}

func (kr *keyRules) action(key string) action {
	if len(kr.rules) == 0 {
		return actScan
	}
	kr.mu.RLock()
	a, ok := kr.cache[key]
	kr.mu.RUnlock()
	if ok {
		return a
	}
	a = kr.resolve(key)
	kr.mu.Lock()
	if len(kr.cache) < maxCachedKeys {
		kr.cache[strings.Clone(key)] = a
	}
	kr.mu.Unlock()
	return a
}

func (kr *keyRules) resolve(key string) action {
	for _, r := range kr.rules {
		for _, p := range r.pats {
			if globMatch(p, key) {
				return r.act
			}
		}
	}
	return actScan
}
