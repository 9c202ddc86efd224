/* schema.c — compiles db/schema.sql into the binary as db_schema_sql[]
 * (NUL-terminated), so the schema has one source and needs no install. */
__asm__(".section .rodata\n"
        ".global db_schema_sql\n"
        ".type db_schema_sql, @object\n"
        "db_schema_sql:\n"
        ".incbin \"db/schema.sql\"\n"
        ".byte 0\n"
        ".previous\n");
