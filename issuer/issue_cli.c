/* placeholder until the CLI lands in this session */
int main(void);
int main(void) { return 1; }
