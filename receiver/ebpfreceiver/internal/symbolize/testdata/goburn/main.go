// Command goburn is a test program of the symbolizer and the profiler. It
// prints the address of burnGoHot, then either burns CPU in it ("burn") or
// sleeps ("sleep") until killed. "count <duration>" burns for that long,
// then prints how many times burnGoOuter ran (profbench's throughput).
package main

import (
	"fmt"
	"os"
	"reflect"
	"time"
)

var sink uint64

//go:noinline
func burnGoHot(n int) uint64 {
	var x uint64
	for i := 0; i < n; i++ {
		x += uint64(i)*uint64(i) ^ x>>3
	}
	return x
}

//go:noinline
func burnGoOuter() {
	sink += burnGoHot(1 << 20)
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "count" {
		d, err := time.ParseDuration(os.Args[2])
		if err != nil {
			os.Exit(2)
		}
		deadline := time.Now().Add(d)
		n := 0
		for ; time.Now().Before(deadline); n++ {
			burnGoOuter()
		}
		fmt.Println(n)
		return
	}
	fmt.Printf("%x\n", reflect.ValueOf(burnGoHot).Pointer())
	if len(os.Args) > 1 && os.Args[1] == "burn" {
		for {
			burnGoOuter()
		}
	}
	time.Sleep(time.Hour)
}
