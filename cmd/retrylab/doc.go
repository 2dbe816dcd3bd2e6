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
// without a response or its body could not be read in full. A body error is
// the run's outcome (reason body-error): the retrying Transport returns when
// the headers arrive and does not retry errors in the body, which it would
// have to buffer; the caller, who knows whether the call may be repeated,
// decides.
package main
