// Command retrylab serves fault scenarios, runs the retry client against
// them and prints what happened, and simulates retry storms.
//
//	retrylab run   --scenario NAME|FILE [--policy FILE] [--request 'GET /path'] [--json | --svg FILE]
//	retrylab serve --scenario NAME|FILE [--addr 127.0.0.1:0]
//	retrylab storm [--model capacity|occ] [--clients 50,100,190] [--json | --svg FILE]
//	retrylab scenarios
//
// Every command prints its own help with -h. Bad input gives one line on
// standard error and exit status 2; run exits 1 when its request ended
// without a response.
package main
