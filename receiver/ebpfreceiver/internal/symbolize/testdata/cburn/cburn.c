// cburn is a test program of the symbolizer and the profiler (built by the
// tests with gcc -fno-omit-frame-pointer). It prints the address of
// burn_c_hot, then either burns CPU in it ("burn") or sleeps until killed.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noinline)) void burn_c_hot(void)
{
	for (unsigned long i = 0; i < (1UL << 20); i++)
		sink += i * i ^ (sink >> 3);
}

__attribute__((noinline)) void burn_c_outer(void)
{
	burn_c_hot();
	sink++;
}

int main(int argc, char **argv)
{
	printf("%lx\n", (unsigned long)&burn_c_hot);
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "burn") == 0)
		for (;;)
			burn_c_outer();
	for (;;)
		pause();
}
