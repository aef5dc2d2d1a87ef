// Command grpcapp is a traced program of the ebpf receiver's HTTP/2 tests:
// a grpc-go server with the standard health service, and a client, run as
// separate processes (the receiver never traces its own process).
//
//	grpcapp server        serves on 127.0.0.1:0 (plaintext HTTP/2) and prints the address
//	grpcapp client ADDR   Check(""), Check("nosuch") → NOT_FOUND, an unknown method → UNIMPLEMENTED
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpcapp server | client ADDR")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s := grpc.NewServer()
		healthpb.RegisterHealthServer(s, health.NewServer())
		fmt.Println(l.Addr().String())
		os.Stdout.Sync()
		_ = s.Serve(l)
	case "client":
		conn, err := grpc.NewClient(os.Args[2], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := healthpb.NewHealthClient(conn)
		r, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		fmt.Println("check:", r.GetStatus(), err)
		_, err = c.Check(ctx, &healthpb.HealthCheckRequest{Service: "nosuch"})
		fmt.Println("nosuch:", err)
		err = conn.Invoke(ctx, "/grpc.health.v1.Health/Nope", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
		fmt.Println("nope:", err)
		time.Sleep(100 * time.Millisecond)
	}
}
