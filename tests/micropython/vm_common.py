# Shared by the VM scripts and the CPython test: what the exchange sends.
SIZES = (1, 0, 100, 1472, 1473, 4000, 9000)  # 1472: the largest unfragmented over MTU 1500
PING_SIZES = (56, 3000)


def payload(i, n):
    return bytes((j * 31 + i * 7 + (j >> 8)) & 0xFF for j in range(n))
