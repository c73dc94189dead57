"""An elderly villager, by phone or typed by a grandchild: long and roundabout, time told by meals
and roosters, the harm told through crops (禾苗, 罗汉果, 沙田柚, 芋头), fish ponds, wells, buffalo
and drinking water; eyesight too poor for a whole plate.
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices import official
from simulation.tipvoices.base import (
    Voice,
    chance,
    clock12,
    cn,
    period,
    pick,
    plate_tail,
    premises,
    some,
    waste_of,
)

WHO = ("我是{village}的，今年七十{a}了，", "我是{village}的老人家，", "我替我爷爷打的字，他是{village}的，",
       "我老伴叫我打这个电话，我们是{town}{village}的，", "我住在{village}几十年了，", "我是个老党员，")
SEEN = {
    "water": (
        "看到有个车子停在{river}边上，往水里放黑色的东西，放了好一阵",
        "{river}里的水黑得像墨汁一样，我活了这么大岁数没见过",
        "我家鱼塘挨着{river}，这几天鱼翻白肚子死了好多",
        "河边的水泛着油花，放下去的鸭子上来毛都黏在一起",
        "有几个后生仔扛着桶往河沟里倒，倒完就跑",
        "我们挑水洗菜都在那条{river}，现在水是臭的",
    ),
    "karst": (
        "后山那个老岩洞，以前我们躲雨的地方，现在被人倒了好多铁桶",
        "山脚下冒水的那个洞口，水变了颜色，井水也跟着变味了",
        "{cave}那里有人往洞里倒东西，那个洞底下通着我们喝的地下水",
        "看到有车子开到石山脚，把桶里的东西往洞里灌",
    ),
    "dump": (
        "我家罗汉果地旁边被人倒了一大堆黑乎乎的渣，果苗都枯了",
        "菜园子边上被人丢了好多桶，下了雨流得满地都是",
        "沙田柚树下被人倒了东西，叶子一片片往下掉",
        "禾田边上倒了一堆烂泥巴一样的东西，禾苗黄了一片",
        "芋头地里流进来一股黄水，芋头都烂了",
    ),
    "workshop": (
        "村后面那个废牛栏被外地人租去了，天天在里面烧东西，熏得人咳嗽",
        "有人在老粮站里面拆电瓶，地上的土都变了颜色",
        "有个外地老板在山脚搭了个棚子熬油，一股焦臭味",
    ),
    "covert": (
        "{ent}旁边那条沟，以前能摸鱼，现在水是红的",
        "{ent}有根管子伸到田里，我的禾苗喝了那个水都死了",
        "{ent}排出来的水流进我家鱼塘，鱼死了一塘",
        "{ent}墙外面那口井，现在打上来的水有股怪味",
    ),
    "unlicensed": (
        "听我侄子讲，{ent}的废料是给私人拉走的，拉去哪里就不晓得了",
        "{ent}有个收废品的经常进去拉桶，我看着不放心",
        "村里有人帮{ent}拉废油，拉去山里倒了",
    ),
}
ENT_VAGUE = ("村边那个厂", "河对面那个厂", "山脚那个工厂")
WHEN = {
    "night": ("半夜起来解手的时候看到的", "鸡叫头遍的时候", "半夜{h}点钟的样子", "三更半夜"),
    "midnight": ("半夜起来解手的时候看到的", "半夜{h}点钟的样子", "夜深了，都睡了一觉了"),
    "dawn": ("天还没亮", "鸡叫的时候", "早上天麻麻亮"),
    "morning": ("早上去菜地的时候", "上午放牛的时候", "吃过早饭"),
    "noon": ("晌午吃饭的时候", "中午日头大的时候"),
    "afternoon": ("下午放牛回来", "下午{h}点钟的样子", "下午在地里干活"),
    "dusk": ("太阳落山的时候", "天快黑了", "赶鸭子回来的时候", "看新闻联播那阵"),
    "evening": ("吃过夜饭", "晚上{h}点钟", "电视剧放完了"),
}
CAR = ("一个大车子", "一部有篷布盖着的车", "一部铁罐罐的车", "一部三个轮子的车", "一部蓝色的车")
PLATE = ("我眼睛花了，车牌没看清", "我孙子讲车牌尾巴上是{t2}", "车牌只记得有个{t1}", "车牌是桂字开头的")
HARM = ("我们老人家吃的都是这口井的水", "以前这河水清得很，可以直接喝", "儿女都在外面打工，家里就剩我们两个老的",
        "水牛都不肯喝沟里的水了", "村里好几个老人这阵子身体都不好", "地里的菜都不敢吃了")
PLEA = ("求求政府管一管", "你们有空就来看看，我在家", "麻烦领导帮帮我们老百姓", "我讲不清楚，你们来看就晓得了",
        "不是我一个人讲，村里都晓得", "")


def _when(rng: np.random.Generator, hour: float, md: str) -> str:
    return pick(rng, WHEN[period(hour)]).format(h=cn(clock12(hour)))


def _who(rng: np.random.Generator, fill: dict[str, str]) -> str:
    options = [o for o in WHO if all(fill[k] for k in ("village", "town") if "{" + k + "}" in o)]
    return pick(rng, options).format(a=cn(int(rng.integers(1, 10)), two=False), **fill)


def event(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str, vehicle: bool,
          plate: str) -> str:
    f = dict(fill, ent=fill["ent"] or pick(rng, ENT_VAGUE))
    if not f["river"]:
        f["river"] = "河"
    seen = pick(rng, SEEN[kind]).format(**f)
    who = _who(rng, fill) if chance(rng, 0.8) else ""
    when = _when(rng, hour, md) if chance(rng, 0.75) else ""
    car = ""
    if vehicle:
        car = f"看到{pick(rng, CAR)}"
        if plate or chance(rng, 0.5):
            car += "，" + pick(rng, PLATE).format(t2=plate_tail(plate, 2) or "不清楚", t1=plate_tail(plate, 1) or "几")
    harm = "。".join(some(rng, HARM, int(rng.integers(1, 3))))
    head = f"{who}{when}，{seen}" if chance(rng, 0.6) else f"{who}{seen}，{when}"
    return f"{head}。{car}。{harm}，{pick(rng, PLEA)}。"


KIN = ("我儿子", "我孙女", "我侄子", "我女婿", "我家媳妇", "我外甥")
INSIDER_WORK = ("在{e}上班", "在{e}做事", "在{e}打工", "在{e}开车")
INSIDER_SAID = (
    "他回来讲{p}的{w}都是晚上偷偷拉出去倒的",
    "讲那里的废水直接放到沟里，我们村的水就是从那里流下来的",
    "讲老板不给钱处理{w}，叫他们埋到山上",
    "讲{w}装在桶里，攒多了就叫车拉走，没有单子的",
    "讲那里检查的时候一套，检查完了又是一套",
)
INSIDER_FEAR = ("他不敢讲，我来讲", "他怕丢饭碗", "他讲了好几回我都睡不着", "")
INSIDER_TAIL = ("莫讲是我家讲的", "求你们保密", "你们查一下就晓得", "我年纪大了不怕", "我们也是为了下面的人好")


def insider(rng: np.random.Generator, ent: str) -> str:
    who = pick(rng, KIN) + pick(rng, INSIDER_WORK).format(e=ent)
    said = pick(rng, INSIDER_SAID).format(p=premises(ent), w=waste_of(rng, ent))
    fear = pick(rng, INSIDER_FEAR)
    if chance(rng, 0.2):
        return f"我以前在{ent}看大门，看到他们半夜拉桶出去，没有单子的。{pick(rng, INSIDER_TAIL)}。"
    return f"{who}，{said}，{fear}。{pick(rng, INSIDER_TAIL)}。"


NOISE = {
    "odour": ("{e}那个味道飘过来，我这个老哮喘又犯了", "自从{e}开起来，晚上一开窗就是臭味",
              "{e}的气味熏得我头昏，饭都吃不下"),
    "dispute": ("{e}的油水淌到我家门前，我滑了一跤", "{e}的车把我家门口的路压烂了，下雨全是泥水",
                "{e}的人把桶放在我家晒谷坪上，讲了也不搬"),
    "vague": ("我听人讲有人往河里倒东西，也不晓得是不是真的", "这几年{river}的水不如以前了，不晓得哪个搞的",
              "村里人讲山上有人倒废料，我腿脚不好没去看", "我们那口老井的水这两年味道变了，不晓得是哪样原因"),
    "parked": ("{village}河边停了个大罐车好几天了，我怕它漏", "路边停着的车子一股味道，不晓得装的哪样",
               "河边晒谷坪上停了几部大车，车上堆着桶"),
    "smoke": ("{e}天天冒黑烟，晒的被子都是黑点", "{e}烧东西的烟飘到村里，老人小孩都咳嗽", "{e}的烟把我家的菜叶子都熏黑了"),
}


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
    f = dict(fill, e=fill["ent"] or pick(rng, ENT_VAGUE))
    for k in ("river", "village"):
        f[k] = f[k] or "我们这里"
    who = _who(rng, fill) if fill["village"] and chance(rng, 0.5) else ""
    harm = pick(rng, HARM) if chance(rng, 0.4) else ""
    return f"{who}{pick(rng, NOISE[kind]).format(**f)}。{harm}，{pick(rng, PLEA)}。"


REPEAT = ("我上个月打过电话了，你们讲会来看，到现在还没来。{t}", "我再讲一遍：{t}", "{t}我是第二回打电话了。",
          "还是那个事，{t}", "{t}你们一定要来啊。")


def repeat(rng: np.random.Generator, text: str) -> str:
    return pick(rng, REPEAT).format(t=text)


VOICE = Voice(
    name="elder",
    register_zh="老年村民，絮叨，庄稼鱼塘水井饮水，时间用饭点鸡叫",
    register_en="elderly villager, roundabout; crops, fish ponds, wells, drinking water; time by meals",
    compose_event=event,
    compose_insider=insider,
    compose_patrol=lambda rng, where: official.patrol(rng, where, (0.3, 0.6, 0.1)),
    compose_noise=noise,
    compose_repeat=repeat,
)
