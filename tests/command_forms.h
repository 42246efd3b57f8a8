/* tests/command_forms: the table of valid command lines shared by test_command and test_command_verbs. */
#ifndef TP_TEST_COMMAND_FORMS_H
#define TP_TEST_COMMAND_FORMS_H

struct CommandForm {
    const char *line;
    const char *verb, *word;
    int n_args;
    const char *key0, *value0; /* first argument, if any */
};

extern const struct CommandForm VALID[];
extern const int N_VALID;

#endif
