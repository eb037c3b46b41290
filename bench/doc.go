// Package bench holds the project's end-to-end benchmarks: the datapath
// pipeline over in-memory ports, measured against a plain copy-through of
// the same packets. The numbers and the commands that produced them are in
// bench/README.md.
package bench
