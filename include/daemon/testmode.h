/*
 * testmode.h - `gatehouse test`: the engine on one message, without an MTA
 *
 * Runs the same engine calls the milter makes, in the same order, on a
 * message file and an envelope from the command line, then prints every
 * check result and the verdict (text, or one JSON object with --json).
 *
 * Exit status: 0 accept, 1 reject, 2 tempfail, 3 discard, 4 quarantine;
 * 64 usage error, 65 malformed input, 66 unreadable input, 70 internal
 * error, 78 bad configuration (sysexits.h numbers, all 64 and above).
 */
#ifndef TESTMODE_H
#define TESTMODE_H

/* testmode_main - ARGV[0] is "test"; returns the exit status */
int testmode_main(int argc, char **argv);

/* testmode_exit_code - the exit status for a final action */
int testmode_exit_code(int action);

#endif
