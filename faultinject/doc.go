// Package faultinject is an HTTP server that misbehaves exactly as a scenario
// scripts it (503s, 429 with Retry-After, hangs, resets, malformed replies, slow
// bodies) and journals every call it receives.
package faultinject
