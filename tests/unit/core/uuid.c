#include "../test.h"
#include "core/error.h"
#include "core/uuid.h"

TEST(v7_shape)
{
    char u[UUID_STR_LEN + 1];
    ASSERT_EQ_INT(uuid_v7(u), BS_OK);
    ASSERT(uuid_valid(u, strlen(u)));
    ASSERT_EQ_INT(u[14], '7');
    ASSERT(strchr("89ab", u[19]) != NULL);
}

TEST(v7_timestamp)
{
    char u[UUID_STR_LEN + 1];
    ASSERT_EQ_INT(uuid_v7_at(0x0123456789abLL + 1000000000000LL, u), BS_OK);
    /* 48-bit ms timestamp big-endian in the first 12 hex digits */
    long long ms = 0x0123456789abLL + 1000000000000LL;
    char want[13];
    snprintf(want, sizeof want, "%08llx%04llx", (ms >> 16) & 0xffffffffLL, ms & 0xffffLL);
    char got[13];
    memcpy(got, u, 8);
    memcpy(got + 8, u + 9, 4);
    got[12] = 0;
    ASSERT_EQ_STR(got, want);
}

TEST(v7_monotonic)
{
    char prev[UUID_STR_LEN + 1], cur[UUID_STR_LEN + 1];
    ASSERT_EQ_INT(uuid_v7(prev), BS_OK);
    for (int i = 0; i < 100000; i++) {
        ASSERT_EQ_INT(uuid_v7(cur), BS_OK);
        ASSERT(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof cur);
    }
}

TEST(v4_and_valid)
{
    char u[UUID_STR_LEN + 1];
    ASSERT_EQ_INT(uuid_v4(u), BS_OK);
    ASSERT_EQ_INT(u[14], '4');
    ASSERT(uuid_valid(u, 36));
    ASSERT(!uuid_valid("6F1C2D3E-4B5A-4C7D-8E9F-0A1B2C3D4E5F", 36));
    ASSERT(!uuid_valid("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5", 35));
    ASSERT(!uuid_valid("6f1c2d3e04b5a-4c7d-8e9f-0a1b2c3d4e5f", 36));
}

TEST_MAIN(T(v7_shape), T(v7_timestamp), T(v7_monotonic), T(v4_and_valid))
