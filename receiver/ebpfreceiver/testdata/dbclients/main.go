// Command dbclients is a traced program of the ebpf receiver's driver
// tests: real Go database, cache and messaging drivers run in a child
// process (the receiver never traces its own process).
//
//	dbclients pgx DSN                   simple query, extended query with a parameter, an execution error (22012)
//	dbclients mysql DSN                 plain queries, one statement prepared and executed twice, an error (1146)
//	dbclients redis ADDR                SET/GET, a pipeline, a WRONGTYPE error
//	dbclients kafka-broker TOPIC        a kfake broker with TOPIC (one partition); prints its address
//	dbclients kafka-client ADDR TOPIC N produces N records to TOPIC and fetches them back
//
// Every client prints what it read so that the test can check the
// exchanges really happened.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: dbclients pgx DSN | mysql DSN | redis ADDR | kafka-broker TOPIC | kafka-client ADDR TOPIC N")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "pgx":
		err = runPgx(ctx, os.Args[2])
	case "mysql":
		err = runMySQL(ctx, os.Args[2])
	case "redis":
		err = runRedis(ctx, os.Args[2])
	case "kafka-broker":
		err = runBroker(os.Args[2])
	case "kafka-client":
		if len(os.Args) < 5 {
			err = errors.New("kafka-client ADDR TOPIC N")
			break
		}
		var n int
		if n, err = strconv.Atoi(os.Args[4]); err == nil {
			err = runKafkaClient(ctx, os.Args[2], os.Args[3], n)
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbclients:", err)
		os.Exit(1)
	}
}

func runPgx(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// The simple query protocol (one Query message).
	for _, q := range []string{
		"CREATE TABLE drivers(id int, name text)",
		"INSERT INTO drivers VALUES (1, 'alice'), (2, 'bob')",
	} {
		if _, err := conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	// The extended protocol: a prepared statement (Parse/Describe, then
	// Bind/Execute/Sync) with a parameter.
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM drivers WHERE id = $1", 2).Scan(&name); err != nil {
		return err
	}
	fmt.Println("name:", name)
	// An error at execution, with its SQLSTATE (22012 division_by_zero).
	var n int
	err = conn.QueryRow(ctx, "SELECT 10 / $1::int FROM drivers WHERE id = 1", 0).Scan(&n)
	if err == nil {
		return errors.New("division by zero did not fail")
	}
	fmt.Println("error:", err)
	return nil
}

func runMySQL(ctx context.Context, dsn string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: the statement id stays on it
	// COM_QUERY (no arguments: the text protocol).
	for _, q := range []string{
		"CREATE DATABASE drivers",
		"CREATE TABLE drivers.users(id INT, name VARCHAR(20))",
		"INSERT INTO drivers.users VALUES (1,'alice'),(2,'bob')",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	// COM_STMT_PREPARE once, COM_STMT_EXECUTE twice with the statement id.
	stmt, err := db.PrepareContext(ctx, "SELECT name FROM drivers.users WHERE id = ?")
	if err != nil {
		return err
	}
	for _, id := range []int{1, 2} {
		var name string
		if err := stmt.QueryRowContext(ctx, id).Scan(&name); err != nil {
			return err
		}
		fmt.Println("name:", name)
	}
	if err := stmt.Close(); err != nil {
		return err
	}
	// An error (1146: no such table).
	if _, err := db.ExecContext(ctx, "SELECT * FROM drivers.nosuchtable"); err == nil {
		return errors.New("the query of a missing table did not fail")
	} else {
		fmt.Println("error:", err)
	}
	return nil
}

func runRedis(ctx context.Context, addr string) error {
	// RESP3 (HELLO 3), without the CLIENT SETINFO and CLIENT
	// MAINT_NOTIFICATIONS handshakes, on one connection.
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, PoolSize: 1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	if err := c.Set(ctx, "drivers:1", "alice", 0).Err(); err != nil {
		return err
	}
	v, err := c.Get(ctx, "drivers:1").Result()
	if err != nil {
		return err
	}
	fmt.Println("get:", v)
	// A pipeline: three commands written at once.
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "drivers:n")
		p.Incr(ctx, "drivers:n")
		p.Get(ctx, "drivers:n")
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Println("pipeline:", cmds[2].(*redis.StringCmd).Val())
	// WRONGTYPE: a list operation on a string.
	if err := c.LPush(ctx, "drivers:1", "x").Err(); err == nil {
		return errors.New("LPUSH on a string did not fail")
	} else {
		fmt.Println("error:", err)
	}
	return nil
}

func runBroker(topic string) error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println(c.ListenAddrs()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}

func runKafkaClient(ctx context.Context, addr, topic string, n int) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.DefaultProduceTopic(topic),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	for i := 0; i < n; i++ {
		r := &kgo.Record{Partition: 0, Value: []byte("record-" + strconv.Itoa(i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			fmt.Println("record:", string(r.Value))
			got++
		})
	}
	return nil
}
