/*
 * divisions.c - names of GB/T 2260 administrative divisions for display.
 * Only provinces and Shanghai's 16 districts are tabled: the credential
 * carries the code, and a code we cannot name is shown as the code alone.
 */
#include <stddef.h>
#include <stdint.h>

#include "ecred/credential.h"

struct division {
    uint32_t code;
    const char *name;
};

static const struct division shanghai_districts[] = {
    {310101, "上海市黄浦区"}, {310104, "上海市徐汇区"}, {310105, "上海市长宁区"},
    {310106, "上海市静安区"}, {310107, "上海市普陀区"}, {310109, "上海市虹口区"},
    {310110, "上海市杨浦区"}, {310112, "上海市闵行区"}, {310113, "上海市宝山区"},
    {310114, "上海市嘉定区"}, {310115, "上海市浦东新区"}, {310116, "上海市金山区"},
    {310117, "上海市松江区"}, {310118, "上海市青浦区"}, {310120, "上海市奉贤区"},
    {310151, "上海市崇明区"},
};

static const struct division provinces[] = {
    {11, "北京市"}, {12, "天津市"}, {13, "河北省"}, {14, "山西省"}, {15, "内蒙古自治区"},
    {21, "辽宁省"}, {22, "吉林省"}, {23, "黑龙江省"}, {31, "上海市"}, {32, "江苏省"},
    {33, "浙江省"}, {34, "安徽省"}, {35, "福建省"}, {36, "江西省"}, {37, "山东省"},
    {41, "河南省"}, {42, "湖北省"}, {43, "湖南省"}, {44, "广东省"}, {45, "广西壮族自治区"},
    {46, "海南省"}, {50, "重庆市"}, {51, "四川省"}, {52, "贵州省"}, {53, "云南省"},
    {54, "西藏自治区"}, {61, "陕西省"}, {62, "甘肃省"}, {63, "青海省"},
    {64, "宁夏回族自治区"}, {65, "新疆维吾尔自治区"}, {71, "台湾省"},
    {81, "香港特别行政区"}, {82, "澳门特别行政区"},
};

const char *ecred_division_name(uint32_t code)
{
    for (size_t i = 0; i < sizeof shanghai_districts / sizeof shanghai_districts[0]; i++)
        if (shanghai_districts[i].code == code)
            return shanghai_districts[i].name;
    for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++)
        if (provinces[i].code == code / 10000)
            return provinces[i].name;
    return "";
}
