package symbolize

import "reflect"

//go:noinline
func funcPC() uint64 { return uint64(reflect.ValueOf(funcPC).Pointer()) }
